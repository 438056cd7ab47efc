"""The composition root: Settings in, a running application out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from baton.config import Settings
from baton.domain.audit import CheckpointSigner
from baton.services.container import Services
from baton.services.jobs import Job, PeriodicJobs
from baton.services.tenancy import BootstrapResult, write_secret_file
from baton.store import migrate
from baton.store.database import Database

log = logging.getLogger("baton")

BootstrapReporter = Callable[[BootstrapResult], None]


def load_audit_signer(settings: Settings) -> CheckpointSigner:
    """The checkpoint signing key, kept outside the database.

    ``BATON_AUDIT_SIGNING_KEY`` (a base64 Ed25519 seed) wins; otherwise
    ``$BATON_DATA_DIR/audit.key``, generated (mode 0600) on first use.
    """
    if settings.audit_signing_key is not None:
        return CheckpointSigner.from_env_value(settings.audit_signing_key.get_secret_value())
    path = settings.data_dir / "audit.key"
    if path.exists():
        return CheckpointSigner.from_env_value(path.read_text().strip())
    signer = CheckpointSigner.generate()
    write_secret_file(path, signer.to_env_value())
    log.info("generated the audit signing key at %s", path)
    return signer


async def start_services(settings: Settings, *, migrate_schema: bool) -> Services:
    """Open the database (migrating it first when asked) and build the services."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    if migrate_schema:
        await migrate.upgrade(url)
    db = Database(url, pool_size=settings.db_pool_size)
    return Services.build(settings, db, load_audit_signer(settings))


def periodic_jobs(services: Services) -> PeriodicJobs:
    """The timers a server runs: checkpoints for idle logs, and audit retention."""
    settings = services.settings
    return PeriodicJobs(
        [
            Job(
                "audit-checkpoints",
                settings.audit_checkpoint_interval_s,
                services.audit.sign_due_checkpoints,
            ),
            Job(
                "audit-retention", settings.audit_retention_interval_s, services.audit.run_retention
            ),
        ]
    )


async def first_start(services: Services, report: BootstrapReporter | None) -> None:
    """Create tenant ``default`` and its superadmin on an empty database."""
    admin_key = services.settings.admin_key
    result = await services.tenancy.bootstrap(
        services.settings.data_dir, admin_key.get_secret_value() if admin_key else None
    )
    if result is not None:
        log.info("created tenant 'default' and its superadmin key")
        if report is not None:
            report(result)


def create_app(
    settings: Settings,
    *,
    migrate_schema: bool | None = None,
    on_bootstrap: BootstrapReporter | None = None,
) -> FastAPI:
    """Build the ASGI application for ``settings``; its lifespan opens and closes storage."""
    from baton.api.app import build_api

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await start_services(
            settings,
            migrate_schema=settings.auto_migrate if migrate_schema is None else migrate_schema,
        )
        app.state.services = services
        jobs = periodic_jobs(services)
        try:
            await first_start(services, on_bootstrap)
            jobs.start()
            yield
        finally:
            await jobs.stop()
            await services.db.dispose()

    return build_api(settings, lifespan)
