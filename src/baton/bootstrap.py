"""The composition root: Settings in, a running application out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from baton.config import Settings
from baton.services.container import Services
from baton.services.tenancy import BootstrapResult
from baton.store import migrate
from baton.store.database import Database

log = logging.getLogger("baton")

BootstrapReporter = Callable[[BootstrapResult], None]


async def start_services(settings: Settings, *, migrate_schema: bool) -> Services:
    """Open the database (migrating it first when asked) and build the services."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    if migrate_schema:
        await migrate.upgrade(url)
    db = Database(url, pool_size=settings.db_pool_size)
    return Services.build(settings, db)


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
        try:
            await first_start(services, on_bootstrap)
            yield
        finally:
            await services.db.dispose()

    return build_api(settings, lifespan)
