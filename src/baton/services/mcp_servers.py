"""MCP server use cases: register, list and remove a tenant's servers (admin actions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from baton.domain.audit.log import admin_action
from baton.domain.errors import Forbidden, InvalidInput, NotFound
from baton.domain.tenancy import Principal, Role
from baton.services.audit import AuditService
from baton.store.database import Database
from baton.store.pagination import Page, decode_cursor, page_of
from baton.tools.addresses import Resolver, system_resolver
from baton.tools.mcp import ConfigLoader, McpManager
from baton.tools.mcp_config import McpServerConfig, validate_server
from baton.tools.mcp_endpoint import registration_problem


def config_loader(db: Database) -> ConfigLoader:
    """The manager's view of a tenant's servers: read from the database on each use."""

    async def load(tenant_id: str) -> Sequence[McpServerConfig]:
        async with db.transaction(write=False) as uow:
            return await uow.mcp_servers.list(tenant_id)

    return load


class McpServerService:
    """Register, list and remove the caller's tenant's MCP servers.

    A stdio server runs a command on the Baton host, which is a platform-wide power: by
    default only a superadmin may register one (``stdio_requires_superadmin``). An HTTP
    server's URL is checked against the address policy: a private or loopback one needs
    ``allow_private`` (``BATON_MCP_ALLOW_PRIVATE``) or a superadmin, whose registration
    is recorded (``private_approved``) so the connection honours it later.
    """

    def __init__(
        self,
        db: Database,
        audit: AuditService,
        manager: McpManager,
        *,
        stdio_requires_superadmin: bool = True,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._db = db
        self._audit = audit
        self._manager = manager
        self._stdio_role = Role.SUPERADMIN if stdio_requires_superadmin else Role.ADMIN
        self._allow_private = allow_private
        self._resolver = resolver

    async def create(
        self,
        caller: Principal,
        *,
        name: str,
        transport: str,
        command: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        url: str | None = None,
        enabled: bool = True,
    ) -> McpServerConfig:
        """Register a server in the caller's tenant; Conflict when the name is taken."""
        env = dict(env or {})
        kind = validate_server(
            name=name, transport=transport, command=command, args=args, env=env, url=url
        )
        if kind == "stdio" and not caller.may(self._stdio_role):
            raise Forbidden(f"registering a stdio MCP server needs the {self._stdio_role} role")
        approved = kind == "http" and caller.may(Role.SUPERADMIN)
        if url is not None:
            problem = await registration_problem(
                url, allow_private=self._allow_private or approved, resolver=self._resolver
            )
            if problem is not None:
                raise InvalidInput(
                    f"invalid MCP server: url: {problem}",
                    details=[{"field": "url", "reason": problem}],
                )
        async with self._db.transaction() as uow:
            server = await uow.mcp_servers.create(
                caller.tenant_id,
                name=name,
                transport=kind,
                command=command,
                args=args,
                env=env,
                url=url,
                enabled=enabled,
                private_approved=approved,
            )
            event = admin_action(
                caller.tenant_id,
                caller.key_id,
                "mcp_server.created",
                server.id,
                name=name,
                transport=kind,
                command=command,
                args=list(args),
                env_keys=sorted(env),  # values may be secrets: never recorded
                url=url,
                enabled=enabled,
            )
            await self._audit.append_in(uow, [event])
        return server

    async def list(
        self, caller: Principal, *, cursor: str | None, limit: int
    ) -> Page[McpServerConfig]:
        """A page of the caller's tenant's servers."""
        async with self._db.transaction(write=False) as uow:
            items = await uow.mcp_servers.list(
                caller.tenant_id, after=decode_cursor(cursor), limit=limit + 1
            )
        return page_of(items, limit)

    async def delete(self, caller: Principal, server_id: str) -> None:
        """Remove one of the caller's tenant's servers and stop its session here."""
        async with self._db.transaction() as uow:
            server = await uow.mcp_servers.get(caller.tenant_id, server_id)
            if server is None or not await uow.mcp_servers.delete(caller.tenant_id, server_id):
                raise NotFound(f"MCP server {server_id} not found")
            event = admin_action(
                caller.tenant_id, caller.key_id, "mcp_server.removed", server_id, name=server.name
            )
            await self._audit.append_in(uow, [event])
        await self._manager.forget(server_id)
