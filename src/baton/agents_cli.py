"""``baton agents``: list, show, create and declaratively apply agents from the command line.

The commands talk to the service layer directly (no server needed) and act as the local
operator of a tenant: what they change is audited under the actor ``cli``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import yaml  # type: ignore[import-untyped]
from rich.console import Console
from rich.table import Table

from baton.audit_cli import TenantOpt, _with_services
from baton.domain.agents import AgentStatus
from baton.domain.errors import BatonError, InvalidInput
from baton.domain.tenancy import DEFAULT_TENANT, Principal

if TYPE_CHECKING:
    from baton.domain.agents import Agent
    from baton.services.agents import AgentDefinition
    from baton.services.container import Services

agents_app = typer.Typer(help="Register and manage agents.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

FILE_SUFFIXES = (".yaml", ".yml", ".json")
FILE_KEYS = {"name", "description", "capabilities", "tools", "config", "status"}
FileOpt = Annotated[Path, typer.Option("-f", "--file", help="a YAML or JSON agent file")]

T = TypeVar("T")


def _doc(agent: Agent) -> dict[str, Any]:
    # The API's JSON form; imported here because the API package is slow to import.
    from baton.api.routes.agents import agent_doc

    return agent_doc(agent)


def _run(tenant: str, action: Callable[[Services, Principal], Awaitable[T]]) -> T:
    """Run ``action`` with services and the tenant's operator; errors exit with status 1."""
    from baton.cli import load_settings

    async def main() -> T:
        services, tenant_id = await _with_services(load_settings(), tenant)
        try:
            from baton.services.agents import local_operator

            return await action(services, local_operator(tenant_id, "cli"))
        finally:
            await services.db.dispose()

    try:
        return asyncio.run(main())
    except BatonError as exc:
        _report(exc)
        raise typer.Exit(1) from None


def _report(exc: BatonError, where: str = "") -> None:
    err.print(f"[red]{where}{exc.message}")
    for detail in exc.details if isinstance(exc.details, list) else ():
        err.print(f"  {detail.get('field')}: {detail.get('reason', '')}")


def _bad_file(reason: str, field: str = "file") -> InvalidInput:
    return InvalidInput(reason, details=[{"field": field, "reason": reason}])


def _list_field(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise _bad_file(f"{key} must be a list", key)
    return value


def load_definition(path: Path) -> AgentDefinition:
    """Read one agent file (YAML or JSON) into a definition.

    Raises:
        InvalidInput: For unreadable files, unknown keys or a missing name or config.
    """
    from baton.services.agents import AgentDefinition

    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise _bad_file(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise _bad_file("an agent file holds one object")
    unknown = sorted(set(doc) - FILE_KEYS)
    if unknown:
        raise _bad_file(f"unknown keys {unknown}; expected {sorted(FILE_KEYS)}", unknown[0])
    name, config = doc.get("name"), doc.get("config")
    if not isinstance(name, str):
        raise _bad_file("name must be a string", "name")
    if not isinstance(config, dict):
        raise _bad_file("config must be an object", "config")
    status = doc.get("status", AgentStatus.ACTIVE.value)
    if status not in {s.value for s in AgentStatus}:
        raise _bad_file(f"status must be one of {[s.value for s in AgentStatus]}", "status")
    return AgentDefinition(
        name=name,
        description=str(doc.get("description") or ""),
        capabilities=_list_field(doc, "capabilities"),
        tools=_list_field(doc, "tools"),
        config=config,
        status=AgentStatus(status),
    )


def agent_files(target: Path) -> list[Path]:
    """The agent files a path names: itself, or a directory's YAML and JSON files by name."""
    if target.is_dir():
        return sorted(p for p in target.iterdir() if p.suffix in FILE_SUFFIXES and p.is_file())
    if not target.exists():
        raise typer.BadParameter(f"{target} does not exist")
    return [target]


@agents_app.command("list")
def list_agents(
    tenant: TenantOpt = DEFAULT_TENANT,
    capability: Annotated[str | None, typer.Option(help="only with this capability")] = None,
    status: Annotated[AgentStatus | None, typer.Option(help="only with this status")] = None,
) -> None:
    """List the tenant's agents and the global ones."""

    async def action(services: Services, caller: Principal) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await services.agents.search(
                caller,
                capabilities=[capability] if capability else [],
                status=status,
                cursor=cursor,
                limit=500,
            )
            docs += [_doc(a) for a in page.items]
            if page.next_cursor is None:
                return docs
            cursor = page.next_cursor

    table = Table("name", "id", "version", "status", "capabilities", "global")
    for doc in _run(tenant, action):
        table.add_row(
            doc["name"],
            doc["id"],
            str(doc["version"]),
            str(doc["status"]),
            ", ".join(doc["capabilities"]),
            "yes" if doc["global"] else "",
        )
    console.print(table)


@agents_app.command("show")
def show(
    name_or_id: Annotated[str, typer.Argument(help="the agent's name or id")],
    tenant: TenantOpt = DEFAULT_TENANT,
) -> None:
    """Print one agent, with its current version, as JSON."""

    async def action(services: Services, caller: Principal) -> dict[str, Any]:
        return _doc(await services.agents.find(caller, name_or_id))

    console.print_json(json.dumps(_run(tenant, action), default=str))


@agents_app.command("create")
def create(file: FileOpt, tenant: TenantOpt = DEFAULT_TENANT) -> None:
    """Create an agent from a file (fails if its name is taken; see ``apply``)."""
    try:
        definition = load_definition(file)
    except InvalidInput as exc:
        _report(exc, f"{file}: ")
        raise typer.Exit(1) from None

    async def action(services: Services, caller: Principal) -> dict[str, Any]:
        return _doc(await services.agents.create(caller, definition))

    doc = _run(tenant, action)
    console.print(f"created {doc['name']} ({doc['id']}) version {doc['version']}")


@agents_app.command("apply")
def apply(
    file: Annotated[Path, typer.Option("-f", "--file", help="an agent file or a directory")],
    tenant: TenantOpt = DEFAULT_TENANT,
) -> None:
    """Make agents match their files: create, update (new version) or leave unchanged."""
    files = agent_files(file)

    async def action(services: Services, caller: Principal) -> int:
        failures = 0
        for path in files:
            try:
                definition = load_definition(path)
                agent, outcome = await services.agents.apply(caller, definition)
            except BatonError as exc:
                _report(exc, f"{path}: ")
                failures += 1
                continue
            console.print(f"{outcome.value:<9} {agent.name} v{agent.version} ({path})")
        return failures

    if _run(tenant, action):
        raise typer.Exit(1)
