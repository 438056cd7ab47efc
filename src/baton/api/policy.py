"""Who may call what: one table of minimum roles, enforced by one dependency.

Every API route is named; the table maps each name to the least role that may call it.
A route missing from the table is refused to everyone (deny by default) and a test checks
that the table covers every route.
"""

from __future__ import annotations

from fastapi import Request

from baton.domain.errors import Forbidden, Unauthenticated
from baton.domain.tenancy import Principal, Role

MINIMUM_ROLE: dict[str, Role] = {
    "tenants.create": Role.SUPERADMIN,
    "tenants.list": Role.VIEWER,
    "api_keys.create": Role.ADMIN,
    "api_keys.revoke": Role.ADMIN,
    "projects.create": Role.DEVELOPER,
    "projects.list": Role.VIEWER,
    "projects.get": Role.VIEWER,
    "projects.update": Role.DEVELOPER,
    "projects.delete": Role.ADMIN,
    "audit.search": Role.VIEWER,
    "audit.verify": Role.VIEWER,
    "audit.checkpoints": Role.VIEWER,
    "audit.retention_get": Role.VIEWER,
    "audit.retention_set": Role.ADMIN,
    # Global agents additionally need superadmin (checked by the agent service).
    "agents.create": Role.ADMIN,
    "agents.list": Role.VIEWER,
    "agents.get": Role.VIEWER,
    "agents.update": Role.ADMIN,
    "agents.delete": Role.ADMIN,
    "agents.versions": Role.VIEWER,
    "tools.list": Role.VIEWER,
    "tasks.submit": Role.DEVELOPER,
    "tasks.list": Role.VIEWER,
    "tasks.get": Role.VIEWER,
    "tasks.cancel": Role.DEVELOPER,
    "tasks.trace": Role.VIEWER,
    "tasks.events": Role.VIEWER,
    "events.stream": Role.VIEWER,
    # Registering a stdio server also needs superadmin by default (checked by the service).
    "mcp_servers.create": Role.ADMIN,
    "mcp_servers.list": Role.VIEWER,
    "mcp_servers.delete": Role.ADMIN,
    "webhooks.secret": Role.ADMIN,
    # Only when the operator set BATON_PUBLIC_METRICS=false.
    "health.metrics": Role.VIEWER,
    "docs.openapi": Role.VIEWER,
    "docs.ui": Role.VIEWER,
}


def bearer_key(request: Request) -> str | None:
    """The key a request sends as ``Authorization: Bearer <key>``, or None without one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("malformed Authorization header: expected 'Bearer <key>'")
    return token.strip()


async def authorize(request: Request) -> Principal:
    """Authenticate the caller and check its role against the route's minimum role."""
    services = request.app.state.services
    client = request.client.host if request.client else None
    principal: Principal = await services.tenancy.authenticate(bearer_key(request), client)
    route = request.scope.get("route")
    needed = MINIMUM_ROLE.get(getattr(route, "name", ""))
    if needed is None:
        raise Forbidden("this route has no access policy")
    if not principal.may(needed):
        raise Forbidden(f"this needs the {needed.value} role; your key is {principal.role.value}")
    request.state.principal = principal
    return principal
