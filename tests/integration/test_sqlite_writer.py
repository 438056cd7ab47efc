"""SQLite's writer thread: jobs queued together commit together, a failing one alone."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import OperationalError

from baton.store import migrate
from baton.store.database import Database


def _insert(name: str, *, fail: bool = False, pause: float = 0.0) -> Callable[[Connection], str]:
    def job(conn: Connection) -> str:
        time.sleep(pause)  # holds the writer so that the jobs behind it form one group
        conn.execute(
            text("INSERT INTO tenants (id, name, created_at) VALUES (:i, :i, '2026-01-01')"),
            {"i": name},
        )
        if fail:
            raise RuntimeError(f"{name} failed after writing")
        return name

    return job


async def test_a_failing_job_rolls_back_alone_and_the_group_commits(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}"
    await migrate.upgrade(url)
    db = Database(url)
    try:
        first = asyncio.create_task(db.run(_insert("t0", pause=0.2)))
        await asyncio.sleep(0.05)
        jobs = [db.run(_insert(f"t{i}", fail=i % 3 == 0)) for i in range(1, 10)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        assert await first == "t0"
        for i, result in enumerate(results, start=1):
            if i % 3 == 0:
                assert isinstance(result, RuntimeError), result
            else:
                assert result == f"t{i}"

        def names(conn: Connection) -> list[str]:
            return list(conn.execute(text("SELECT id FROM tenants ORDER BY id")).scalars())

        assert await db.run(names, write=False) == ["t0", "t1", "t2", "t4", "t5", "t7", "t8"]
        with pytest.raises(RuntimeError):  # and a job alone fails the same way
            await db.run(_insert("t99", fail=True))
        assert "t99" not in await db.run(names, write=False)
    finally:
        await db.dispose()


async def test_a_connection_that_cannot_open_fails_its_job_not_the_writer(tmp_path: Path) -> None:
    # A writer thread that died on a failed connect left every job behind it waiting
    # forever (seen as a hung test with several writers on one locked file).
    url = f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}"
    await migrate.upgrade(url)
    db = Database(url)
    refusals = [sqlite3.OperationalError("database is locked")]

    def refuse_once(_dbapi: object, _record: object) -> None:
        if refusals:
            raise refusals.pop()

    event.listen(db.sync_engine, "connect", refuse_once)
    try:
        with pytest.raises(OperationalError, match="locked"):
            await asyncio.wait_for(db.run(_insert("t1")), 5)
        assert await asyncio.wait_for(db.run(_insert("t2")), 5) == "t2"
    finally:
        await db.dispose()
