"""Readiness: is the database reachable and its schema current?"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from baton.store import migrate
from baton.store.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Readiness:
    """The readiness report."""

    database: bool
    migrations: bool
    detail: str | None = None

    @property
    def ready(self) -> bool:
        """True when every check passed."""
        return self.database and self.migrations

    def as_dict(self) -> dict[str, object]:
        """The JSON body of /readyz."""
        return {
            "status": "ready" if self.ready else "not_ready",
            "checks": {"database": self.database, "migrations": self.migrations},
            "detail": self.detail,
        }


class HealthService:
    """Checks a probe can ask for."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def readiness(self) -> Readiness:
        """Ping the database, then compare its schema revision with the code's head."""
        try:
            await self._db.ping()
        except Exception as exc:  # any driver error means "not reachable"
            log.warning("readiness: database unreachable: %s", exc)
            return Readiness(database=False, migrations=False, detail="database unreachable")
        current = await self._db.schema_revision()
        head = migrate.head_revision()
        if current != head:
            return Readiness(True, False, f"schema at {current}, code expects {head}")
        return Readiness(True, True)
