"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Interval, bindparam, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

#: JSON on SQLite, JSONB on PostgreSQL.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite drops tzinfo; this restores it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; refuse naive datetimes, which are always a bug here."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def clock_expressions(pg: bool) -> tuple[Any, Any, Any]:
    """``now``, ``now + :lease`` and ``now + :retry`` for statements built once per dialect.

    On PostgreSQL they read the database clock (``clock_timestamp()`` plus interval
    parameters ``lease`` and ``retry``), so every process agrees on lease expiry; on
    SQLite the caller binds ``now``, ``lease_until`` and ``retry_at`` from this clock.
    """
    if pg:
        now: Any = func.clock_timestamp()
        return (
            now,
            now + bindparam("lease", type_=Interval()),
            now + bindparam("retry", type_=Interval()),
        )
    return (
        bindparam("now", type_=UtcDateTime()),
        bindparam("lease_until", type_=UtcDateTime()),
        bindparam("retry_at", type_=UtcDateTime()),
    )
