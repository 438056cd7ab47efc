"""``baton audit``: verify and export a tenant's audit log from the command line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from baton.config import Settings
from baton.domain.audit import Checkpoint, MalformedAuditData
from baton.domain.tenancy import DEFAULT_TENANT

if TYPE_CHECKING:
    from baton.services.container import Services

audit_app = typer.Typer(help="Verify and export the tamper-evident audit log.")
console = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option("--tenant", help="tenant name or id")]


async def _with_services(settings: Settings, tenant: str) -> tuple[Services, str]:
    from baton.bootstrap import start_services

    services = await start_services(settings, migrate_schema=False)
    async with services.db.transaction(write=False) as uow:
        found = await uow.tenants.get(tenant) or await uow.tenants.get_by_name(tenant)
    if found is None:
        await services.db.dispose()
        err.print(f"[red]no tenant named or with id {tenant!r}")
        raise typer.Exit(2)
    return services, found.id


def ensure_utc(moment: datetime) -> datetime:
    """Read a naive command-line time as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _load_checkpoint(path: Path) -> Checkpoint:
    try:
        return Checkpoint.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, MalformedAuditData) as exc:
        err.print(f"[red]cannot read checkpoint {path}: {exc}")
        raise typer.Exit(2) from None


@audit_app.command("verify")
def verify(
    tenant: TenantOpt = DEFAULT_TENANT,
    checkpoint: Annotated[
        Path | None, typer.Option(help="a checkpoint JSON file you kept; the log must extend it")
    ] = None,
) -> None:
    """Verify every entry, payload and checkpoint of a tenant's log."""
    from baton.cli import load_settings

    trusted = _load_checkpoint(checkpoint) if checkpoint else None

    async def run() -> dict[str, object]:
        services, tenant_id = await _with_services(load_settings(), tenant)
        try:
            report = await services.audit.verify(tenant_id, trusted)
        finally:
            await services.db.dispose()
        return dataclasses.asdict(report)

    result = asyncio.run(run())
    colour = "green" if result["valid"] else "red"
    console.print(f"[{colour}]{'valid' if result['valid'] else 'INVALID'}[/{colour}]")
    console.print_json(json.dumps(result))
    raise typer.Exit(0 if result["valid"] else 1)


@audit_app.command("export")
def export(
    tenant: TenantOpt = DEFAULT_TENANT,
    since: Annotated[datetime | None, typer.Option(help="from this time (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option(help="until this time (UTC), exclusive")] = None,
) -> None:
    """Write entries as JSON lines, each with its inclusion proof against the newest checkpoint."""
    from baton.cli import load_settings

    async def run() -> None:
        services, tenant_id = await _with_services(load_settings(), tenant)
        try:
            for doc in await services.audit.export(
                tenant_id,
                since=ensure_utc(since) if since else None,
                until=ensure_utc(until) if until else None,
            ):
                sys.stdout.write(json.dumps(doc, default=str) + "\n")
        finally:
            await services.db.dispose()

    asyncio.run(run())
