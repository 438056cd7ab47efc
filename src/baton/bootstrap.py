"""The composition root: Settings in, a running application out."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from baton.config import Settings
from baton.domain.audit import CheckpointSigner
from baton.llm.registry import preload_sdk_providers
from baton.queue.signals import PostgresListener, libpq_conninfo
from baton.queue.worker import Worker
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


def load_secret_key(settings: Settings) -> bytes:
    """The server secret (webhook signing keys derive from it), kept outside the database.

    ``BATON_SECRET_KEY`` wins; otherwise ``$BATON_DATA_DIR/secret.key``, generated
    (mode 0600) on first use.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip().encode("utf-8")
    secret = secrets.token_hex(32)
    write_secret_file(path, secret)
    log.info("generated the server secret key at %s", path)
    return secret.encode("utf-8")


async def start_services(settings: Settings, *, migrate_schema: bool) -> Services:
    """Open the database (migrating it first when asked) and build the services."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    if migrate_schema:
        await migrate.upgrade(url)
    db = Database(url, pool_size=settings.db_pool_size)
    services = Services.build(settings, db, load_audit_signer(settings), load_secret_key(settings))
    load_plugins(services)
    return services


def load_plugins(services: Services) -> None:
    """Import each configured plugin module and call its ``setup(services)``.

    A plugin registers Python tools (``services.tools``) and task handlers
    (``services.handlers``); a missing module or ``setup`` stops start-up with a clear error.
    """
    for name in services.settings.plugins:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise RuntimeError(f"plugin {name!r} cannot be imported: {exc}") from exc
        setup = getattr(module, "setup", None)
        if not callable(setup):
            raise RuntimeError(f"plugin {name!r} has no setup(services) function")
        setup(services)
        log.info("loaded plugin %s", name)


def periodic_jobs(services: Services) -> PeriodicJobs:
    """The timers a server runs: checkpoints for idle logs, retention, webhooks, clean-up."""
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
            Job("webhooks", settings.webhook_poll_s, services.webhooks.deliver_due),
            Job("rate-windows", 600.0, services.rate_limiter.prune),
            Job("housekeeping", 3600.0, services.housekeeping.run),
        ]
    )


async def first_start(services: Services, report: BootstrapReporter | None) -> None:
    """Create tenant ``default``, its superadmin and the demo agents on an empty database."""
    admin_key = services.settings.admin_key
    result = await services.tenancy.bootstrap(
        services.settings.data_dir, admin_key.get_secret_value() if admin_key else None
    )
    if result is not None:
        log.info("created tenant 'default' and its superadmin key")
        if services.settings.demo_agents:
            from baton.services.agents import ensure_demo_agents

            created = await ensure_demo_agents(services, result.tenant.id)
            log.info("created demo agents: %s", ", ".join(a.name for a in created))
        if report is not None:
            report(result)


def _listener(services: Services) -> PostgresListener | None:
    """With PostgreSQL, the process listens for other processes' queue signals."""
    if services.db.is_sqlite:
        return None
    return PostgresListener(libpq_conninfo(services.db.url), services.signals)


def settle_heap() -> None:
    """Take what start-up loaded out of the cyclic garbage collector's sight.

    Modules, the app and its services live as long as the process; without this every
    full collection walks them again and stalls the event loop for milliseconds, which
    shows as the tail of request and audit-append latency. Called once by ``baton serve``
    and ``baton worker`` after start-up (not by tests, which build many apps).
    """
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def _serving(
    services: Services,
    *,
    with_worker: bool,
    settle: bool,
    before: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[Worker | None]:
    """Periodic jobs, the PostgreSQL listener and (optionally) a worker around the body.

    ``before`` runs first (the first-start bootstrap of ``baton serve``). On the way out
    the worker stops first (its leases released), then everything else, and the services
    close, whatever failed.
    """
    jobs = periodic_jobs(services)
    listener = _listener(services)
    worker = services.worker() if with_worker else None
    try:
        if before is not None:
            await before()
        jobs.start()
        if listener is not None:
            listener.start()
        if worker is not None:
            worker.start()
        if settle:
            preload_sdk_providers()
            settle_heap()
        yield worker
    finally:
        if worker is not None:
            await worker.stop()
        if listener is not None:
            await listener.stop()
        await jobs.stop()
        await services.webhooks.aclose()
        await services.providers.aclose()
        await services.mcp.aclose()
        await services.db.dispose()


async def run_worker(
    settings: Settings, stop: asyncio.Event | None = None, *, settle: bool = False
) -> None:
    """Run task workers (no HTTP) until SIGTERM/SIGINT or ``stop`` is set.

    Any number of these may share one PostgreSQL; on SIGTERM running tasks get the
    shutdown grace period, then their leases are released without counting an attempt.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    services = await start_services(settings, migrate_schema=settings.auto_migrate)
    async with _serving(services, with_worker=True, settle=settle) as worker:
        assert worker is not None
        log.info("worker %s running (concurrency %d)", worker.id, settings.worker_concurrency)
        await stop.wait()


def create_app(
    settings: Settings,
    *,
    migrate_schema: bool | None = None,
    on_bootstrap: BootstrapReporter | None = None,
    settle: bool = False,
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
        async with _serving(
            services,
            with_worker=settings.run_workers,
            settle=settle,
            before=lambda: first_start(services, on_bootstrap),
        ):
            yield

    return build_api(settings, lifespan)
