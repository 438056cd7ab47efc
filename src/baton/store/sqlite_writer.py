"""SQLite's write path: one thread, one connection, many transactions per commit.

SQLite admits one writer at a time, so Baton's writes go through one thread that owns a
plain (synchronous) connection. A use case hands it a function of a Connection; the
thread runs everything queued at that moment inside one ``BEGIN IMMEDIATE`` transaction,
each function in its own savepoint (a failing one rolls back alone), then commits once:
group commit. One thread hop and one commit serve a whole burst of small transactions,
which is what lets a single process drain thousands of tasks a second.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = tuple[Callable[[Connection], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]

MAX_GROUP = 512


def _deliver(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled; the transaction still happened
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SqliteWriter:
    """The single writer thread of one SQLite database."""

    def __init__(self, engine: Engine, *, max_group: int = MAX_GROUP) -> None:
        self._engine = engine
        self._max_group = max_group
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._serve, name="baton-sqlite-writer", daemon=True
                    )
                    self._thread.start()

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a write transaction on the writer thread and return its result."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, future, loop))
        return await future

    def close(self) -> None:
        """Finish queued work and stop the thread."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _serve(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            try:
                with self._engine.connect() as conn:
                    self._serve_on(conn.execution_options(baton_write=True), first)
                    return
            except Exception as exc:
                # No connection (a locked database while opening it, say): the job that
                # was waiting for one fails with the reason, and the next job tries again.
                # The thread must not die: every job queued behind it would wait forever.
                log.warning("SQLite writer could not open its connection: %s", exc)
                _answer([first], [(None, exc)])

    def _serve_on(self, conn: Connection, first: Job) -> None:
        """Commit groups of jobs on ``conn`` until told to stop."""
        job: Job | None = first
        while job is not None:
            group = [job]
            while len(group) < self._max_group:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._commit_group(conn, group)
                    return
                group.append(job)
            self._commit_group(conn, group)
            job = self._jobs.get()

    def _commit_group(self, conn: Connection, group: list[Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            with conn.begin():
                if len(group) == 1:
                    outcomes.append((group[0][0](conn), None))
                else:
                    # Savepoints straight on the driver: SQLAlchemy's nested-transaction
                    # objects cost more than the small jobs they wrap.
                    driver = conn.connection.dbapi_connection
                    assert driver is not None
                    for fn, _, _ in group:
                        driver.execute("SAVEPOINT baton_job")
                        try:
                            result = fn(conn)
                        except Exception as exc:
                            driver.execute("ROLLBACK TO baton_job")
                            driver.execute("RELEASE baton_job")
                            outcomes.append((None, exc))
                        else:
                            driver.execute("RELEASE baton_job")
                            outcomes.append((result, None))
        except Exception as exc:  # the commit itself failed: nothing of the group happened
            log.warning("SQLite group commit of %d failed: %s", len(group), exc)
            outcomes = [(None, exc)] * len(group)
        _answer(group, outcomes)


def _answer(group: list[Job], outcomes: list[tuple[Any, BaseException | None]]) -> None:
    """Hand each job's result or error back to the event loop that waits for it."""
    for (_, future, loop), (result, error) in zip(group, outcomes, strict=True):
        loop.call_soon_threadsafe(_deliver, future, result, error)
