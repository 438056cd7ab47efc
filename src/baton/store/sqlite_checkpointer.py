"""WAL checkpoints off the write path.

By default SQLite checkpoints inside the COMMIT that pushes the WAL over 1,000 pages: that
commit then copies megabytes into the database file and syncs it, and the writer thread
(every write of the process) waits. That was the whole tail of Baton's audit append
latency. Baton turns the automatic checkpoint off on its connections and runs PASSIVE
checkpoints on a thread of their own instead: they copy what they can without blocking
the writer or readers, and once everything is copied the next write starts the WAL over,
so the file stays small.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 0.5
# Once the WAL is reset it is truncated back to this size (bytes) if it grew larger.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


class SqliteCheckpointer:
    """A daemon thread that checkpoints one SQLite database's WAL every ``interval_s``."""

    def __init__(self, engine: Engine, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.checkpoints = 0
        """How many checkpoints ran (for tests and metrics)."""

    def ensure_started(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._serve, name="baton-sqlite-checkpointer", daemon=True
                    )
                    self._thread.start()

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Run one checkpoint now: (busy, WAL frames, frames copied), as SQLite reports."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode}")
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
            conn.commit()
        self.checkpoints += 1
        return int(row[0]), int(row[1]), int(row[2])

    def _serve(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.checkpoint()
            except Exception as exc:  # a busy or closing database: try again next time
                log.debug("WAL checkpoint skipped: %s", exc)

    def close(self) -> None:
        """Stop the thread and leave the WAL fully copied and truncated."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=30)
            self._thread = None
            try:
                self.checkpoint("TRUNCATE")
            except Exception as exc:
                log.warning("final WAL checkpoint failed: %s", exc)
