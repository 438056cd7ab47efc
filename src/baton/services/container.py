"""The services one process runs, built together around one database."""

from __future__ import annotations

from dataclasses import dataclass

from baton.config import Settings
from baton.services.health import HealthService
from baton.services.projects import ProjectService
from baton.services.tenancy import TenancyService
from baton.store.database import Database


@dataclass
class Services:
    """Every use-case service, sharing one Database."""

    settings: Settings
    db: Database
    tenancy: TenancyService
    projects: ProjectService
    health: HealthService

    @classmethod
    def build(cls, settings: Settings, db: Database) -> Services:
        """Wire the services for ``settings`` over ``db``."""
        return cls(
            settings=settings,
            db=db,
            tenancy=TenancyService(db),
            projects=ProjectService(db),
            health=HealthService(db),
        )
