"""Loopback servers for the HTTP MCP tests: a real MCP server, and a listener that counts.

``HttpMcpServer`` serves a small MCP server (``add``, ``big``) over streamable HTTP with
uvicorn in the test's event loop, counting the HTTP requests it gets. ``CountingListener``
accepts TCP connections, counts them and closes them at once (a stand-in proxy, or a
server nobody should reach).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings


def _mcp_app() -> MCPServer:
    app = MCPServer("remote")

    @app.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @app.tool()
    def big(size: int) -> str:
        """Return ``size`` characters."""
        return "x" * size

    return app


class HttpMcpServer:
    """A streamable-HTTP MCP server on 127.0.0.1 that counts the requests it gets."""

    def __init__(self, *, json_response: bool = False) -> None:
        self.requests = 0
        self.hosts: list[str] = []
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        self._app = _mcp_app().streamable_http_app(
            json_response=json_response, transport_security=security
        )
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(self._count, log_level="warning", lifespan="on", interface="asgi3")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def _count(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
            self.hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        await self._app(scope, receive, send)

    async def __aenter__(self) -> HttpMcpServer:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, 10)
        self._sock.close()


class CountingListener:
    """Accepts TCP connections on 127.0.0.1, counts them and closes them."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    async def __aenter__(self) -> CountingListener:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
