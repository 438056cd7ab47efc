"""SQLite WAL checkpoints run on their own thread, never inside a commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, text

from baton.store import migrate
from baton.store.database import Database


async def test_commits_leave_the_wal_to_the_checkpointer_which_keeps_it_small(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}"
    await migrate.upgrade(url)
    db = Database(url)
    try:

        def autocheckpoint(conn: Connection) -> int:
            return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

        assert await db.run(autocheckpoint, write=False) == 0

        def write(conn: Connection) -> None:
            conn.execute(
                text("INSERT INTO tenants (id, name, created_at) VALUES (:i, :n, :t)"),
                [{"i": f"t{i}", "n": f"tenant {i}", "t": "2026-01-01"} for i in range(2000)],
            )

        await db.run(write)
        checkpointer = db._checkpointer
        assert checkpointer is not None
        for _ in range(100):  # the thread runs every half second
            if checkpointer.checkpoints:
                break
            await asyncio.sleep(0.05)
        assert checkpointer.checkpoints > 0
        busy, frames, copied = checkpointer.checkpoint()
        assert busy == 0 and frames == copied > 0  # everything written was copied back
    finally:
        await db.dispose()
    db = Database(url)
    try:
        count = await db.run(
            lambda c: c.execute(text("SELECT count(*) FROM tenants")).scalar_one(), write=False
        )
    finally:
        await db.dispose()
    assert count == 2000
