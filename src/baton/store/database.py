"""The database: engine set-up for SQLite and PostgreSQL and the unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from baton.store.migrate import revision_of
from baton.store.sqlite_checkpointer import JOURNAL_SIZE_LIMIT, SqliteCheckpointer
from baton.store.sqlite_writer import SqliteWriter
from baton.store.unit_of_work import UnitOfWork

SQLITE_BUSY_TIMEOUT_MS = 10_000
READER_THREADS = 4
T = TypeVar("T")


def _prepare_sqlite(engine: Engine) -> None:
    """WAL, busy timeout and foreign keys on every connection; writes take the lock up front.

    pysqlite's own transaction handling is switched off so that Baton decides how each
    transaction begins: ``BEGIN IMMEDIATE`` for writes (no deadlock-prone lock upgrade),
    plain ``BEGIN`` for reads.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints run on their own thread (SqliteCheckpointer), never inside a commit.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("baton_write", False)
        # Straight on the driver: every transaction runs this, and Core's statement
        # machinery cost more than the BEGIN itself.
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        finally:
            cursor.close()


class Database:
    """One engine and its session factories; built once by the composition root."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine = create_async_engine(url, **kwargs)
        self._writer_thread: SqliteWriter | None = None
        self._checkpointer: SqliteCheckpointer | None = None
        self._reader_pool: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            _prepare_sqlite(self.engine.sync_engine)
            self.sync_engine = create_engine(
                parsed.set(drivername="sqlite+pysqlite"),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                pool_size=READER_THREADS + 1,
            )
            _prepare_sqlite(self.sync_engine)
            self._writer_thread = SqliteWriter(self.sync_engine)
            self._checkpointer = SqliteCheckpointer(self.sync_engine)
            self._reader_pool = ThreadPoolExecutor(READER_THREADS, "baton-sqlite-reader")
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(
            self.engine.execution_options(baton_write=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        """True for SQLite."""
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[UnitOfWork]:
        """One unit of work: commit when the block ends, roll back when it raises."""
        factory = self._writer if write else self._reader
        if write and self._checkpointer is not None:
            self._checkpointer.ensure_started()
        session: AsyncSession = factory()
        try:
            async with session.begin():
                yield UnitOfWork(session)
        finally:
            await session.close()

    async def run(self, fn: Callable[[Connection], T], *, write: bool = True) -> T:
        """Run ``fn`` (synchronous Core code over a Connection) as one transaction.

        The fast path for hot use cases: on SQLite writes go to the group-committing writer
        thread and reads to a small thread pool; on PostgreSQL ``fn`` runs over the async
        driver through SQLAlchemy's greenlet bridge. Either way the event loop never blocks
        and ``fn`` sees one transaction that commits when it returns.
        """
        if self._writer_thread is not None and self._reader_pool is not None:
            if write:
                if self._checkpointer is not None:
                    self._checkpointer.ensure_started()
                return await self._writer_thread.run(fn)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._reader_pool, self._read, fn)
        async with self.engine.begin() as conn:
            return await conn.run_sync(fn)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        with self.sync_engine.connect() as conn, conn.begin():
            return fn(conn)

    async def ping(self) -> None:
        """Run a trivial query; raises when the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await conn.rollback()

    async def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None when never migrated)."""
        async with self.engine.connect() as conn:
            revision: str | None = await conn.run_sync(revision_of)
            await conn.rollback()
        return revision

    async def dispose(self) -> None:
        """Stop the SQLite threads and close every pooled connection."""
        if self._writer_thread is not None and self._reader_pool is not None:
            await asyncio.to_thread(self._writer_thread.close)
            if self._checkpointer is not None:
                await asyncio.to_thread(self._checkpointer.close)
            self._reader_pool.shutdown(wait=True)
            self.sync_engine.dispose()
        await self.engine.dispose()


def null_pool_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for one-off jobs such as migrations."""
    return create_async_engine(url, poolclass=NullPool)
