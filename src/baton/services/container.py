"""The services one process runs, built together around one database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from baton.config import Settings
from baton.domain.audit import CheckpointSigner
from baton.services.agents import AgentService, builtin_known_tools
from baton.services.audit import AuditService
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
    audit: AuditService
    agents: AgentService

    @classmethod
    def build(cls, settings: Settings, db: Database, signer: CheckpointSigner) -> Services:
        """Wire the services for ``settings`` over ``db``."""
        audit = AuditService(
            db,
            signer,
            checkpoint_every=settings.audit_checkpoint_every,
            checkpoint_interval=timedelta(seconds=settings.audit_checkpoint_interval_s),
        )
        return cls(
            settings=settings,
            db=db,
            tenancy=TenancyService(db, audit),
            projects=ProjectService(db, audit),
            health=HealthService(db),
            audit=audit,
            # One injected callable; the tool gateway's registry replaces it.
            agents=AgentService(db, audit, known_tools=builtin_known_tools),
        )
