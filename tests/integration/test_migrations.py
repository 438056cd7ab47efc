"""Alembic is the only schema writer: head matches the models, and 0002 round-trips."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from baton.store import migrate
from baton.store.database import Database
from baton.store.tables import Base

BOTH = pytest.mark.parametrize("empty_db_url", ["sqlite", "postgres"], indirect=True)


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _columns(connection: Connection, table: str) -> list[str]:
    return [c["name"] for c in inspect(connection).get_columns(table)]


async def _run(url: str, fn: object) -> object:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@BOTH
async def test_upgrade_head_matches_the_models(empty_db_url: str) -> None:
    assert await migrate.current_revision(empty_db_url) is None
    await migrate.upgrade(empty_db_url)
    assert await migrate.is_at_head(empty_db_url)
    assert await _run(empty_db_url, _diff) == []


@BOTH
async def test_ai_mode_migration_round_trips_with_data(empty_db_url: str) -> None:
    await migrate.upgrade(empty_db_url, "0001")
    engine = create_async_engine(empty_db_url)
    insert_tenant = text(
        "INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', CURRENT_TIMESTAMP)"
    )
    insert_project = text(
        "INSERT INTO projects (id, tenant_id, name, description, created_at, updated_at) "
        "VALUES ('p1', 't1', 'old', 'kept', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    async with engine.begin() as conn:
        await conn.execute(insert_tenant)
        await conn.execute(insert_project)
    await engine.dispose()

    await migrate.upgrade(empty_db_url, "0002")
    rows = await _rows(empty_db_url)
    assert rows[0][:2] == ("p1", "kept")
    assert rows[0][2] == "simple"  # existing rows become 'simple'
    assert rows[0][3] in ({}, "{}")
    before = await _run(empty_db_url, lambda c: _columns(c, "projects"))

    await migrate.downgrade(empty_db_url, "0001")
    after_down = await _run(empty_db_url, lambda c: _columns(c, "projects"))
    assert set(before) - set(after_down) == {"ai_mode", "ai_config"}  # exactly those two
    assert await migrate.current_revision(empty_db_url) == "0001"

    await migrate.upgrade(empty_db_url)
    rows = await _rows(empty_db_url)
    assert rows[0][:3] == ("p1", "kept", "simple")
    assert await _run(empty_db_url, _diff) == []


async def _rows(url: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                text("SELECT id, description, ai_mode, ai_config FROM projects")
            )
            return [tuple(r) for r in result]
    finally:
        await engine.dispose()


async def test_ai_mode_is_not_null_with_a_default(database: Database) -> None:
    async with database.engine.connect() as conn:
        cols = await conn.run_sync(lambda c: inspect(c).get_columns("projects"))
    by_name = {c["name"]: c for c in cols}
    assert by_name["ai_mode"]["nullable"] is False
    assert "simple" in str(by_name["ai_mode"]["default"])
    assert by_name["ai_config"]["nullable"] is False


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(
    tmp_path: object,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    try:
        async with db.engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            timeout = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
            fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await db.dispose()
    assert (mode, fks) == ("wal", 1)
    assert timeout == 10_000
