"""The ``http_request`` tool: GET or POST to hosts granted to the agent, and nowhere else.

Every URL (the first and every redirect hop) goes through
:func:`baton.tools.addresses.check_url` with the version's ``grants["hosts"]``; a grant's
``allow_private`` counts only when the operator allows private grants or a superadmin
approved the version's grants (see :mod:`baton.tools.host_grants`). The
request is sent to the pinned IP it returns, with the original name in the ``Host``
header and in TLS SNI (so certificates are checked against the name), so a second DNS
answer cannot point the request somewhere else. Each call uses a fresh connection pool:
connections are keyed by IP and must not be shared between names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from baton.domain.secrets import SECRET_NAMES
from baton.tools.addresses import (
    AddressRefused,
    ResolvedTarget,
    Resolver,
    check_url,
    system_resolver,
)
from baton.tools.host_grants import private_approved
from baton.tools.registry import ToolContext, ToolDenied, ToolError, ToolKind, ToolLimits

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Set by the tool, never by the model.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# Dropped when a redirect leaves the host they were meant for.

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "method": {"type": "string", "enum": ["GET", "POST"]},
        "url": {"type": "string", "minLength": 1, "maxLength": 8192},
        "headers": {
            "type": "object",
            "maxProperties": 50,
            "propertyNames": {"maxLength": 256},
            "additionalProperties": {"type": "string", "maxLength": 8192},
        },
        "body": {"type": "string", "maxLength": 65536},
    },
    "required": ["method", "url"],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Bounds of one ``http_request`` call.

    Attributes:
        timeout_s: Seconds for the whole call, redirects included.
        max_response_bytes: Bytes of (decoded) body kept; the rest is cut and flagged.
        max_redirects: Redirect hops followed, each checked like the first URL.
    """

    timeout_s: float = 15.0
    max_response_bytes: int = 256 * 1024
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    location: str | None


@dataclass(frozen=True, slots=True)
class HttpRequestTool:
    """Fetches a URL of a granted host (``grants={"hosts": [...]}``), pinned to its checked IP.

    Args:
        http: Call bounds.
        resolver: Name resolution (tests pass a fake).
        transport: An httpx transport to send through (tests pass a mock); None for the
            network.
        allow_private: The operator honours every grant's ``allow_private``
            (``BATON_HTTP_TOOL_ALLOW_PRIVATE``); otherwise only superadmin-approved ones.
    """

    http: HttpLimits = field(default_factory=HttpLimits)
    resolver: Resolver = system_resolver
    transport: httpx.AsyncBaseTransport | None = None
    allow_private: bool = False
    name: str = "http_request"
    description: str = (
        "Send an HTTP GET or POST to a URL on a host this agent was granted and return the "
        "status, headers and body (cut at a size limit, with truncated=true)."
    )
    parameters: dict[str, Any] = field(default_factory=lambda: PARAMETERS)
    kind: ToolKind = "builtin"

    @property
    def limits(self) -> ToolLimits:
        """The call timeout; room for the body even when JSON escaping grows it."""
        return ToolLimits(
            timeout_s=self.http.timeout_s, max_output_bytes=6 * self.http.max_response_bytes + 65536
        )

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Return ``{status, url, headers, body, truncated, redirects}``."""
        grant = ctx.grant(self.name)
        hosts = grant.grants.get("hosts", []) if grant is not None else []
        private = self.allow_private or (grant is not None and private_approved(grant.grants))
        if not isinstance(hosts, list):
            raise ToolDenied(
                "this agent's http_request grant has no host list", code="invalid_grant"
            )
        method: str = arguments["method"]
        url: str = arguments["url"]
        body: str | None = arguments.get("body")
        headers = {
            k: v
            for k, v in arguments.get("headers", {}).items()
            if k.lower() not in _RESERVED_HEADERS
        }
        previous_origin: tuple[str, str, int] | None = None
        for hop in range(self.http.max_redirects + 1):
            target = await self._check(url, hosts, private)
            origin = (target.scheme, target.host, target.port)
            if previous_origin is not None and origin != previous_origin:
                # Another scheme, host or port (https→http included): no credentials follow.
                headers = {k: v for k, v in headers.items() if k.lower() not in SECRET_NAMES}
            response = await self._send(target, method, headers, body)
            if response.status not in _REDIRECTS or response.location is None:
                return {
                    "status": response.status,
                    "url": url,
                    "headers": response.headers,
                    "body": response.body.decode("utf-8", errors="replace"),
                    "truncated": response.truncated,
                    "redirects": hop,
                }
            url = urljoin(url, response.location)
            previous_origin = origin
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None
        raise ToolError(
            f"more than {self.http.max_redirects} redirects; stopped at {url}", code="redirects"
        )

    async def _check(self, url: str, hosts: list[Any], private: bool) -> ResolvedTarget:
        try:
            return await check_url(url, hosts, resolver=self.resolver, honour_private=private)
        except AddressRefused as exc:
            message = str(exc)
            if exc.reason == "forbidden_address" and not private:
                message += (
                    " (allow_private grants need the operator setting "
                    "BATON_HTTP_TOOL_ALLOW_PRIVATE or a superadmin saving the agent)"
                )
            raise ToolDenied(message, code=exc.reason) from None
        except ValueError as exc:
            raise ToolDenied(f"invalid host grant: {exc}", code="invalid_grant") from None

    async def _send(
        self, target: ResolvedTarget, method: str, headers: dict[str, str], body: str | None
    ) -> _Response:
        parts = urlsplit(target.url)
        ip = f"[{target.ip}]" if ":" in target.ip else target.ip
        pinned = urlunsplit(
            (target.scheme, f"{ip}:{target.port}", parts.path or "/", parts.query, "")
        )
        host = f"[{target.host}]" if ":" in target.host else target.host
        if target.port != _DEFAULT_PORTS[target.scheme]:
            host = f"{host}:{target.port}"
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        cap = self.http.max_response_bytes
        try:
            async with (
                httpx.AsyncClient(
                    transport=self.transport,
                    trust_env=False,
                    follow_redirects=False,
                    timeout=self.http.timeout_s,
                ) as client,
                client.stream(
                    method,
                    pinned,
                    headers={**headers, "Host": host},
                    content=body.encode("utf-8") if body is not None else None,
                    extensions=extensions,
                ) as response,
            ):
                data, truncated = bytearray(), False
                async for chunk in response.aiter_bytes():
                    room = cap - len(data)
                    data += chunk[:room]
                    if len(chunk) > room:
                        truncated = True
                        break
                return _Response(
                    status=response.status_code,
                    headers=dict(response.headers),
                    body=bytes(data),
                    truncated=truncated,
                    location=response.headers.get("location"),
                )
        except httpx.TimeoutException:
            raise ToolError(f"{target.host} did not answer in time", code="timeout") from None
        except httpx.HTTPError as exc:
            raise ToolError(
                f"request to {target.host} failed: {type(exc).__name__}: {exc}", code="http_error"
            ) from None
