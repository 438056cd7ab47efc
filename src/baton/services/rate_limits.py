"""A request-rate limiter counted in the database, so the limit holds across all workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial

from sqlalchemy import Connection, bindparam, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from baton.store.database import Database
from baton.store.tables import RateWindowRow

R = RateWindowRow


def _count_statement(pg: bool) -> object:
    maker = pg_insert if pg else sqlite_insert
    statement = maker(R).values(key=bindparam("key"), window=bindparam("window"), count=1)
    return statement.on_conflict_do_update(
        index_elements=[R.key, R.window], set_={"count": R.count + 1}
    ).returning(R.count)


class DatabaseRateLimiter:
    """Fixed windows (a minute by default): one upsert per request, shared by every process.

    A request over the limit waits for the next window. The count lives in the database,
    so any number of workers on any machines share one limit per key.
    """

    def __init__(
        self,
        db: Database,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._window_s = window_s
        self._clock = clock
        self._statement = _count_statement(not db.is_sqlite)

    def _take(self, conn: Connection, *, key: str, window: int) -> int:
        found = conn.execute(self._statement, {"key": key, "window": window})  # type: ignore[call-overload]
        return int(found.scalar_one())

    async def acquire(self, key: str, limit: int) -> None:
        """Wait until a request under ``key`` fits its window's limit, then count it."""
        while True:
            now = self._clock()
            window = int(now // self._window_s)
            count = await self._db.run(partial(self._take, key=key, window=window))
            if count <= limit:
                return
            await asyncio.sleep(max(0.0, (window + 1) * self._window_s - self._clock()))

    async def prune(self) -> int:
        """Forget windows more than ten windows old."""
        oldest = int(self._clock() // self._window_s) - 10

        def write(conn: Connection) -> int:
            return int(conn.execute(delete(R).where(R.window < oldest)).rowcount or 0)

        return await self._db.run(write)
