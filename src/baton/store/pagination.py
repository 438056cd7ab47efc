"""Keyset pagination over time-ordered ids, with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from baton.domain.errors import InvalidInput


class HasId(Protocol):
    """Anything listed by id."""

    @property
    def id(self) -> str:
        """The time-ordered id."""
        ...


#: Largest sequence number a cursor may name (a signed 64-bit column).
SEQ_MAX = 2**63 - 1

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound=HasId)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the cursor of the next (None at the end)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: str) -> str:
    """Make the opaque cursor that resumes after ``last_id``."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """Return the id a cursor resumes after, or raise InvalidInput for a forged one."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("invalid cursor", details=[{"field": "cursor"}]) from None
    if not value or len(value) > 64:
        raise InvalidInput("invalid cursor", details=[{"field": "cursor"}])
    return value


def seq_cursor(text: str | None) -> int | None:
    """The sequence number a numeric cursor resumes after; InvalidInput unless it is one."""
    if text is None:
        return None
    # isdigit() alone accepts '²' (int() refuses it) and '١٢' (int() reads it as 12).
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > SEQ_MAX:
        raise InvalidInput("invalid cursor", details=[{"field": "cursor"}])
    return int(text)


def page_of(items: list[ItemT], limit: int) -> Page[ItemT]:
    """Cut a list fetched with ``limit + 1`` rows into a page and its next cursor."""
    more = len(items) > limit
    items = items[:limit]
    return Page(items, encode_cursor(items[-1].id) if more and items else None)
