"""MCP server configurations: what a tenant registered, and the rules a new one must meet."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from baton.domain.errors import InvalidInput

__all__ = ["McpServerConfig", "McpTransport", "validate_server"]

McpTransport = Literal["stdio", "http"]
SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MAX_ARGS = 64


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """One MCP server of a tenant; its tools are named ``mcp.<name>.<tool>``.

    Attributes:
        id: Its id.
        tenant_id: The tenant whose agents may use it.
        name: Unique in the tenant: lowercase letters, digits, '_' and '-'.
        transport: ``stdio`` (a local command) or ``http`` (streamable HTTP at ``url``).
        command: For stdio, the executable.
        args: For stdio, its arguments.
        env: For stdio, extra environment variables (may hold secrets: never shown).
        url: For http, the endpoint.
        enabled: Disabled servers are neither started nor listed.
        created_at: When it was registered.
        private_approved: A superadmin registered it, so its URL may reach private and
            loopback addresses without ``BATON_MCP_ALLOW_PRIVATE``.
    """

    id: str
    tenant_id: str
    name: str
    transport: McpTransport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    enabled: bool = True
    created_at: datetime | None = None
    private_approved: bool = False

    def public(self) -> dict[str, Any]:
        """The form the API shows: environment variable names only, never their values."""
        return {
            "id": self.id,
            "name": self.name,
            "transport": self.transport,
            "command": self.command,
            "args": list(self.args),
            "env_keys": sorted(self.env),
            "url": self.url,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "private_approved": self.private_approved,
        }


def validate_server(
    *,
    name: str,
    transport: str,
    command: str | None,
    args: Sequence[str],
    env: Mapping[str, str],
    url: str | None,
) -> McpTransport:
    """Check a new server's fields; returns the transport.

    Raises:
        InvalidInput: Naming every offending field.
    """
    problems: list[dict[str, str]] = []

    def bad(field_name: str, reason: str) -> None:
        problems.append({"field": field_name, "reason": reason})

    if not SERVER_NAME.match(name):
        bad("name", "1 to 40 of lowercase letters, digits, '_' and '-', starting alphanumeric")
    if transport == "stdio":
        if not command or "\x00" in command:
            bad("command", "a stdio server needs a command")
        if url is not None:
            bad("url", "a stdio server has no url")
        if len(args) > _MAX_ARGS or any("\x00" in a for a in args):
            bad("args", f"at most {_MAX_ARGS} arguments without NUL characters")
        if any(not _ENV_NAME.match(k) or "\x00" in v for k, v in env.items()):
            bad("env", "variable names are letters, digits and '_'; no NUL characters")
    elif transport == "http":
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            bad("url", "an http server needs an http(s) URL")
        elif "@" in parts.netloc:
            bad("url", "no credentials in the URL")
        if command is not None or args or env:
            bad("command", "an http server has no command, args or env")
    else:
        bad("transport", "'stdio' or 'http'")
    if problems:
        raise InvalidInput(
            "invalid MCP server: " + "; ".join(p["field"] for p in problems), problems
        )
    return "stdio" if transport == "stdio" else "http"
