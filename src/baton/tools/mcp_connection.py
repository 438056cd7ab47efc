"""One long-lived session with one MCP server: started on first use, restarted after death.

A background task owns the transport and ``ClientSession`` context managers for the whole
life of the session (they must be entered and left in one task); calls use the session
from any task. Starting is bounded by a timeout: a server that never answers
``initialize`` is abandoned and torn down in the background. A server that dies is
noticed by the next call (the connection closes under it), reported as an error, and
started again on a later use after a backoff that doubles with consecutive failures.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from baton.tools.mcp_config import McpServerConfig
from baton.tools.mcp_endpoint import RESPONSE_TOO_LARGE, McpNetwork, check_endpoint, endpoint_client
from baton.tools.registry import ToolError

__all__ = ["McpConnection", "McpUnavailable"]

log = logging.getLogger("baton.tools.mcp")

_MAX_LIST_PAGES = 20
_Streams = tuple[Any, Any]


class McpUnavailable(ToolError):
    """The server cannot be reached now (not started, hung, dead or backing off)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="mcp_unavailable")


class McpConnection:
    """The session with one configured server.

    Args:
        config: The server.
        start_timeout_s: Longest wait for the process/connection, ``initialize`` and the
            tool listing together.
        backoff_base_s: Wait before the first restart after a failure; doubles per
            consecutive failure.
        backoff_max_s: Longest wait between restarts.
        clock: Monotonic seconds (tests pass a fake).
        network: How HTTP servers are reached (address policy, proxies, size cap).
    """

    def __init__(
        self,
        config: McpServerConfig,
        *,
        start_timeout_s: float = 10.0,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        network: McpNetwork | None = None,
    ) -> None:
        self.config = config
        self._network = network or McpNetwork()
        self._start_timeout_s = start_timeout_s
        self._backoff = (backoff_base_s, backoff_max_s)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._session: ClientSession | None = None
        self._tools: list[types.Tool] = []
        self._holder: asyncio.Task[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""

    @property
    def label(self) -> str:
        """How errors name this server."""
        return f"MCP server {self.config.name!r}"

    async def listing(self) -> list[types.Tool]:
        """The server's tools, starting it when needed.

        Raises:
            McpUnavailable: When it cannot be started now.
        """
        await self._ensure()
        return list(self._tools)

    def known_listing(self) -> list[types.Tool] | None:
        """The tools of the live session, or None when there is none (never connects)."""
        if self._session is None or self._holder is None or self._holder.done():
            return None
        return list(self._tools)

    async def call(
        self, tool: str, arguments: dict[str, Any], timeout_s: float
    ) -> types.CallToolResult:
        """Call one tool of the server.

        Raises:
            McpUnavailable: When the server is down or died during the call.
            ToolError: When the server answered with a protocol error.
        """
        session = await self._ensure()
        try:
            result = await session.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
        except MCPError as exc:
            if RESPONSE_TOO_LARGE in exc.message:
                raise ToolError(
                    f"{self.label}: the answer is larger than "
                    f"{self._network.max_response_bytes} bytes",
                    code="mcp_response_too_large",
                ) from None
            if exc.code == types.CONNECTION_CLOSED:
                raise self._died(exc.message, session) from None
            raise ToolError(f"{self.label}: {exc.message}", code="mcp_error") from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            raise self._died(type(exc).__name__, session) from None
        self._failures = 0
        return result

    async def aclose(self) -> None:
        """End the session and wait for the server to be stopped."""
        async with self._lock:
            self._stop()
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)

    async def _ensure(self) -> ClientSession:
        if self._session is not None and self._holder is not None and not self._holder.done():
            return self._session
        async with self._lock:
            if self._session is not None and self._holder is not None and not self._holder.done():
                return self._session
            if self._session is not None:
                self._died("the session ended", self._session)
            wait = self._retry_at - self._clock()
            if wait > 0:
                raise McpUnavailable(
                    f"{self.label} is unavailable ({self._last_error}); next start in {wait:.1f} s"
                )
            try:
                self._session, self._tools = await self._start()
            except Exception as exc:
                self._stop()
                message = (
                    f"did not start within {self._start_timeout_s:g} s"
                    if isinstance(exc, TimeoutError)
                    else f"failed to start: {type(exc).__name__}: {exc}"
                )
                self._failed(message)
                raise McpUnavailable(f"{self.label} {message}") from None
            log.info("%s started with %d tools", self.label, len(self._tools))
            return self._session

    async def _start(self) -> tuple[ClientSession, list[types.Tool]]:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[tuple[ClientSession, list[types.Tool]]] = loop.create_future()
        self._scope = anyio.CancelScope()
        self._holder = asyncio.create_task(self._hold(ready, self._scope))
        return await asyncio.wait_for(asyncio.shield(ready), self._start_timeout_s)

    async def _hold(
        self,
        ready: asyncio.Future[tuple[ClientSession, list[types.Tool]]],
        scope: anyio.CancelScope,
    ) -> None:
        """Own the session's context managers until the scope is cancelled."""
        try:
            with scope:
                async with AsyncExitStack() as stack:
                    read, write = await stack.enter_async_context(self._transport())
                    session = await stack.enter_async_context(ClientSession(read, write))
                    await session.initialize()
                    tools = await _list_tools(session)
                    if not ready.done():
                        ready.set_result((session, tools))
                    await anyio.sleep_forever()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.warning("%s session ended: %s", self.label, exc)
        finally:
            if not ready.done():
                ready.set_exception(McpUnavailable(f"{self.label} stopped while starting"))
            # Nobody awaits a future whose start timed out: retrieve its exception.
            if ready.done() and not ready.cancelled():
                ready.exception()

    @asynccontextmanager
    async def _transport(self) -> AsyncIterator[_Streams]:
        config = self.config
        if config.transport == "stdio":
            assert config.command is not None
            params = StdioServerParameters(
                command=config.command, args=list(config.args), env=dict(config.env)
            )
            async with stdio_client(params, errlog=sys.stderr) as streams:
                yield streams
        else:
            assert config.url is not None
            network = self._network
            target = await check_endpoint(
                config.url,
                allow_private=network.allow_private or config.private_approved,
                resolver=network.resolver,
            )
            async with (
                endpoint_client(target, network) as client,
                streamable_http_client(
                    config.url, http_client=client, max_sse_event_size=network.max_response_bytes
                ) as streams,
            ):
                yield streams

    def _died(self, reason: str, session: ClientSession) -> McpUnavailable:
        if session is self._session:  # the first of the calls that saw it die
            log.warning("%s died: %s", self.label, reason)
            self._stop()
            self._failed(f"connection lost: {reason}")
        return McpUnavailable(f"{self.label} is unavailable: connection lost ({reason})")

    def _failed(self, message: str) -> None:
        self._failures += 1
        base, cap = self._backoff
        self._retry_at = self._clock() + min(cap, base * 2 ** (self._failures - 1))
        self._last_error = message

    def _stop(self) -> None:
        """Cancel the holder task; the transport shuts the server down in the background."""
        self._session, self._tools = None, []
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None
        if self._holder is not None and not self._holder.done():
            self._stopping.add(self._holder)
            self._holder.add_done_callback(self._stopping.discard)
        self._holder = None


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_LIST_PAGES):
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools
