"""The network side of HTTP MCP servers: which URLs may be used, and the client that reaches them.

A tenant registers an MCP server's URL; Baton, not the tenant, connects to it. So the
URL goes through the address policy of :mod:`baton.tools.addresses` when it is
registered and again each time a session starts: private, loopback and link-local
addresses only when the operator allows them (``BATON_MCP_ALLOW_PRIVATE``) or a
superadmin registered the server; cloud metadata and the other always-refused addresses
never. The session's HTTP client connects to the IP checked at that start (the name
stays in ``Host`` and TLS SNI), so a second DNS answer cannot move it elsewhere; it
ignores proxy environment variables unless the operator trusts them
(``BATON_MCP_TRUST_ENV``), and stops reading any response to a request past
``BATON_MCP_MAX_RESPONSE_BYTES``.
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx2

from baton.tools.addresses import (
    AddressRefused,
    HostGrant,
    ResolvedTarget,
    Resolver,
    check_url,
    split_url,
    system_resolver,
)

__all__ = [
    "RESPONSE_TOO_LARGE",
    "McpNetwork",
    "ResponseRefused",
    "check_endpoint",
    "endpoint_client",
    "registration_problem",
]

RESPONSE_TOO_LARGE = "MCP server response over the size limit"
_TIMEOUT = httpx2.Timeout(30.0, read=300.0)  # the MCP SDK's defaults: streams stay open


@dataclass(frozen=True, slots=True)
class McpNetwork:
    """How Baton reaches HTTP MCP servers (the operator's settings).

    Attributes:
        allow_private: Every tenant's servers may be at private addresses.
        trust_env: Honour ``HTTP(S)_PROXY``/``NO_PROXY`` (then the proxy connects by name).
        max_response_bytes: Largest body read for one request; more fails that call.
        resolver: Name resolution (tests pass a fake).
    """

    allow_private: bool = False
    trust_env: bool = False
    max_response_bytes: int = 4 * 1024 * 1024
    resolver: Resolver = field(default=system_resolver)


class ResponseRefused(httpx2.StreamError, httpx2.SSEError):
    """A response body Baton will not read (of both kinds the MCP client reports)."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)


async def check_endpoint(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> ResolvedTarget:
    """Check an MCP server URL and resolve it; returns the IP to connect to.

    Raises:
        AddressRefused: For a malformed URL or an address it may not reach.
    """
    _, host, port = split_url(url)
    shown = f"[{host}]" if ":" in host else host
    grant: HostGrant = {"host": f"{shown}:{port}", "allow_private": allow_private}
    return await check_url(url, [grant], resolver=resolver)


async def registration_problem(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> str | None:
    """Why ``url`` may not be registered, or None.

    A name that does not resolve now is accepted: it is checked again at each start.
    """
    try:
        await check_endpoint(url, allow_private=allow_private, resolver=resolver)
    except AddressRefused as exc:
        if exc.reason == "unresolvable":
            return None
        if exc.reason == "forbidden_address" and not allow_private:
            return (
                f"{exc}; private and loopback servers need the operator setting "
                "BATON_MCP_ALLOW_PRIVATE or a superadmin registering them"
            )
        return str(exc)
    return None


def endpoint_client(target: ResolvedTarget, network: McpNetwork) -> httpx2.AsyncClient:
    """An HTTP client for the MCP SDK that reaches only ``target``, pinned and bounded.

    The caller enters and closes it (the SDK leaves a client it was given open).
    """
    proxy = _env_proxy(target) if network.trust_env else None
    inner = httpx2.AsyncHTTPTransport(trust_env=network.trust_env, proxy=proxy)
    transport = _PinnedTransport(inner, target, network.max_response_bytes, pin=proxy is None)
    return httpx2.AsyncClient(transport=transport, trust_env=False, timeout=_TIMEOUT)


def _env_proxy(target: ResolvedTarget) -> str | None:
    if urllib.request.proxy_bypass(target.host):
        return None
    return urllib.request.getproxies().get(target.scheme)


class _PinnedTransport(httpx2.AsyncBaseTransport):
    """Sends requests for ``target``'s origin to its checked IP; refuses any other origin."""

    def __init__(
        self, inner: httpx2.AsyncBaseTransport, target: ResolvedTarget, limit: int, *, pin: bool
    ) -> None:
        self._inner = inner
        self._target = target
        self._limit = limit
        self._pin = pin

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` to the pinned IP; cap the body of every answer but the GET stream."""
        target = self._target
        url = request.url
        if (url.scheme, url.host, url.port or _default_port(url.scheme)) != (
            target.scheme,
            target.host.strip("[]"),
            target.port,
        ):
            raise httpx2.ConnectError(f"{url.host} is not this MCP server's host", request=request)
        if self._pin:
            request.url = url.copy_with(host=target.ip)
            if target.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": target.host}
        # The cap counts the bytes as sent: compressed ones could inflate past it.
        request.headers["Accept-Encoding"] = "identity"
        response = await self._inner.handle_async_request(request)
        if request.method == "GET":  # the long-lived event stream: the SDK caps each event
            return response
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CappedStream(response, self._limit),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._inner.aclose()


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, response: httpx2.Response, limit: int) -> None:
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        self._stream = response.stream
        self._headers = response.headers
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        too_large = ResponseRefused(f"{RESPONSE_TOO_LARGE} ({self._limit} bytes)")
        if self._headers.get("content-encoding", "identity").lower() != "identity":
            raise ResponseRefused("compressed MCP server responses are not accepted")
        length = self._headers.get("content-length", "")
        if length.isdigit() and int(length) > self._limit:
            raise too_large
        seen = 0
        async for chunk in self._stream:
            seen += len(chunk)
            if seen > self._limit:
                raise too_large
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
