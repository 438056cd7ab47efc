"""Tools of MCP servers, per tenant: the connection manager and the tool adapter.

A tenant's configured servers are read through a loader (the database in production) on
each listing or lookup, so servers added or removed by any process are seen at once.
A server is connected to (or started) only for the tools an agent was granted: the
catalogue (``GET /api/tools``) shows the tools of servers already connected and, for the
others, one entry ``mcp.<server>.*`` standing for tools not listed yet.
The manager owns one :class:`~baton.tools.mcp_connection.McpConnection` per server and
closes them all on shutdown. Each server is isolated: one that hangs or dies makes only
its own tools answer with an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types

from baton.tools.mcp_config import McpServerConfig
from baton.tools.mcp_connection import McpConnection
from baton.tools.mcp_endpoint import McpNetwork
from baton.tools.registry import MCP_PREFIX, Tool, ToolContext, ToolError, ToolKind, ToolLimits
from baton.tools.schema_validator import SchemaError, check_schema

__all__ = ["ConfigLoader", "McpManager", "McpServerEntry", "McpTool"]

log = logging.getLogger("baton.tools.mcp")

ConfigLoader = Callable[[str], Awaitable[Sequence[McpServerConfig]]]
"""The tenant's configured MCP servers."""


@dataclass(frozen=True, slots=True)
class McpTool:
    """One tool of an MCP server, as the gateway sees it (``mcp.<server>.<tool>``)."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    connection: McpConnection
    remote_name: str
    limits: ToolLimits = field(default_factory=ToolLimits)
    kind: ToolKind = "mcp"

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Call the tool on its server; structured content when given, else its content."""
        result = await self.connection.call(self.remote_name, arguments, self.limits.timeout_s)
        if result.is_error:
            message = _text(result.content) or "the tool reported an error"
            raise ToolError(message[:2000], code="mcp_tool_error")
        if result.structured_content is not None:
            return result.structured_content
        return _content(result.content)


@dataclass(frozen=True, slots=True)
class McpServerEntry:
    """The catalogue entry of a server not connected yet: ``mcp.<server>.*``, no tools."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    limits: ToolLimits = field(default_factory=ToolLimits)
    kind: ToolKind = "mcp"

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Never called: the entry is only listed."""
        raise ToolError(f"{self.name} is not a tool", code="unknown_tool")


class McpManager:
    """The MCP tools of each tenant, behind the registry's :class:`ToolSource` interface.

    Args:
        load_configs: The tenant's configured servers.
        start_timeout_s: Bound on starting a server (see :class:`McpConnection`).
        call_timeout_s: Timeout of each MCP tool call.
        max_output_bytes: Output cap of each MCP tool call.
        backoff_base_s: First wait before restarting a failed server.
        backoff_max_s: Longest wait before restarting a failed server.
        network: How HTTP servers are reached (address policy, proxies, size cap).
    """

    def __init__(
        self,
        load_configs: ConfigLoader,
        *,
        start_timeout_s: float = 10.0,
        call_timeout_s: float = 60.0,
        max_output_bytes: int = 256 * 1024,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        network: McpNetwork | None = None,
    ) -> None:
        self._load = load_configs
        self._network = network or McpNetwork()
        self._limits = ToolLimits(timeout_s=call_timeout_s, max_output_bytes=max_output_bytes)
        self._start_timeout_s = start_timeout_s
        self._backoff = (backoff_base_s, backoff_max_s)
        self._connections: dict[str, McpConnection] = {}

    async def tools(self, tenant_id: str, servers: Collection[str] | None = None) -> list[Tool]:
        """Tools of the tenant's enabled servers, started as needed; unavailable ones skipped.

        Args:
            tenant_id: The tenant.
            servers: Only these servers (by name); None for all of them.
        """
        configs = [
            c
            for c in await self._configs(tenant_id)
            if c.enabled and (servers is None or c.name in servers)
        ]
        listings = await asyncio.gather(
            *(self._server_tools(c) for c in configs), return_exceptions=True
        )
        found: list[Tool] = []
        for config, listing in zip(configs, listings, strict=True):
            if isinstance(listing, ToolError):
                log.info("tools of MCP server %r left out: %s", config.name, listing)
            elif isinstance(listing, BaseException):
                raise listing
            else:
                found.extend(listing)
        return found

    async def catalogue(self, tenant_id: str) -> list[Tool]:
        """What the tenant's enabled servers offer, without starting or connecting to any.

        A server with a live session shows its tools; any other shows one
        :class:`McpServerEntry`.
        """
        found: list[Tool] = []
        for config in await self._configs(tenant_id):
            if not config.enabled:
                continue
            connection = self._connections.get(config.id)
            listing = connection.known_listing() if connection is not None else None
            if connection is None or listing is None:
                found.append(
                    McpServerEntry(
                        name=f"{MCP_PREFIX}{config.name}.*",
                        description=(
                            f"The tools of MCP server {config.name!r}, listed once an agent "
                            "granted one of them has called it (Baton connects to a server "
                            "only for a granted call)."
                        ),
                        limits=self._limits,
                    )
                )
                continue
            found.extend(t for r in listing if (t := self._adapt(connection, r)) is not None)
        return found

    async def lookup(self, tenant_id: str, name: str) -> Tool | None:
        """The tool ``mcp.<server>.<tool>`` of the tenant, or None when there is none.

        Raises:
            ToolError: When the server is disabled or unavailable.
        """
        server, _, _ = name.removeprefix(MCP_PREFIX).partition(".")
        config = next((c for c in await self._configs(tenant_id) if c.name == server), None)
        if config is None:
            return None
        if not config.enabled:
            raise ToolError(f"MCP server {server!r} is disabled", code="mcp_unavailable")
        return next((t for t in await self._server_tools(config) if t.name == name), None)

    async def forget(self, server_id: str) -> None:
        """Stop the server's session (after it was removed or disabled)."""
        connection = self._connections.pop(server_id, None)
        if connection is not None:
            await connection.aclose()

    async def aclose(self) -> None:
        """Stop every server."""
        connections, self._connections = list(self._connections.values()), {}
        await asyncio.gather(*(c.aclose() for c in connections), return_exceptions=True)

    async def _configs(self, tenant_id: str) -> Sequence[McpServerConfig]:
        configs = await self._load(tenant_id)
        current = {c.id for c in configs if c.enabled}
        gone = [
            sid
            for sid, conn in self._connections.items()
            if conn.config.tenant_id == tenant_id and sid not in current
        ]
        for server_id in gone:  # removed or disabled, perhaps by another process
            await self.forget(server_id)
        return configs

    async def _server_tools(self, config: McpServerConfig) -> list[McpTool]:
        connection = self._connections.get(config.id)
        if connection is None:
            connection = McpConnection(
                config,
                start_timeout_s=self._start_timeout_s,
                backoff_base_s=self._backoff[0],
                backoff_max_s=self._backoff[1],
                network=self._network,
            )
            self._connections[config.id] = connection
        return [
            tool
            for remote in await connection.listing()
            if (tool := self._adapt(connection, remote)) is not None
        ]

    def _adapt(self, connection: McpConnection, remote: types.Tool) -> McpTool | None:
        schema = dict(remote.input_schema or {"type": "object"})
        try:
            check_schema(schema)
        except SchemaError as exc:
            log.warning("%s: tool %r has an invalid schema: %s", connection.label, remote.name, exc)
            return None
        return McpTool(
            name=f"{MCP_PREFIX}{connection.config.name}.{remote.name}",
            description=remote.description or remote.title or remote.name,
            parameters=schema,
            connection=connection,
            remote_name=remote.name,
            limits=self._limits,
        )


def _text(blocks: Sequence[Any]) -> str:
    return "\n".join(b.text for b in blocks if isinstance(b, types.TextContent))


def _content(blocks: Sequence[Any]) -> Any:
    """Text blocks as one string; anything else as its JSON form."""
    if all(isinstance(b, types.TextContent) for b in blocks):
        return _text(blocks)
    return [b.model_dump(mode="json", exclude_none=True) for b in blocks]
