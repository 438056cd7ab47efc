"""Turning a unique-constraint violation into the domain's Conflict."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from baton.domain.errors import Conflict


async def flush_unique(session: AsyncSession, what: str) -> None:
    """Flush pending rows; a unique name already taken becomes ``Conflict``.

    Args:
        session: The unit of work's session.
        what: How to name the clash, e.g. ``"an agent named 'x'"``.
    """
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"{what} already exists") from None
