"""Schema migrations: Alembic driven programmatically over one connection."""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

# An arbitrary constant: every Baton process serialises migrations on this advisory lock.
PG_MIGRATION_LOCK = 0x0BA7_0001


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("baton.store").joinpath("migrations"))
    )
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


async def _run(url: str, fn: Any, *args: Any) -> Any:
    # Own engine without Baton's SQLite begin hook: SQLite batch migrations need pysqlite's
    # defaults and foreign keys off while tables are rebuilt.
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"))
            return await conn.run_sync(fn, *args)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(_config(connection), revision)


def revision_of(connection: Connection) -> str | None:
    """The revision recorded in a database (use with ``AsyncConnection.run_sync``)."""
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``."""
    await _run(url, _upgrade, revision)


async def downgrade(url: str, revision: str) -> None:
    """Downgrade the schema to ``revision``."""
    await _run(url, _downgrade, revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at (None when never migrated)."""
    return await _run(url, revision_of)  # type: ignore[no-any-return]


async def is_at_head(url: str) -> bool:
    """True when the database schema is at this code's head revision."""
    return await current_revision(url) == head_revision()
