"""The periodic clean-up of task bookkeeping that outlived its use (see store/stream_retention)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from baton.store.columns import utcnow
from baton.store.database import Database
from baton.store.stream_retention import prune_deliveries, prune_events, prune_journal

log = logging.getLogger(__name__)


class Housekeeping:
    """Deletes stream events, finished tasks' tool journals and settled webhook calls.

    Args:
        db: The database.
        keep: How long they are kept (``BATON_STREAM_RETENTION_S``).
        clock: Now, as an aware datetime (tests pass their own).
        batch: Events deleted per transaction, so a large backlog never holds the
            write lock for long.
    """

    def __init__(
        self,
        db: Database,
        keep: timedelta,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 5000,
    ) -> None:
        self._db = db
        self.keep = keep
        self._clock = clock
        self._batch = batch

    async def run(self) -> dict[str, int]:
        """Delete everything older than the retention; how many rows of each kind went."""
        before = self._clock() - self.keep
        events = 0
        while True:
            deleted = await self._db.run(partial(prune_events, before=before, batch=self._batch))
            events += deleted
            if deleted < self._batch:
                break
        counts = {
            "events": events,
            "journal": await self._db.run(partial(prune_journal, before=before)),
            "webhook_deliveries": await self._db.run(partial(prune_deliveries, before=before)),
        }
        if any(counts.values()):
            log.info("housekeeping deleted %s", counts)
        return counts
