"""Agent-chosen LLM endpoints: the operator's allowlist of base URLs and their address policy.

Server-held keys only go to the endpoints the operator configured (``OPENAI_BASE_URL``
and the like, or the SDKs' defaults). An agent's own ``base_url`` is accepted when it lies
under one of the operator's prefixes (``BATON_LLM_ALLOWED_BASE_URLS``) or a superadmin
saved it. Both mean someone trusted with the host named that address, so private and
loopback addresses are fine; cloud metadata and the other always-refused addresses of
``baton.tools.addresses`` are refused whoever asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from baton.tools.addresses import (
    AddressRefused,
    HostGrant,
    Resolver,
    check_url,
    split_url,
    system_resolver,
)

__all__ = ["BaseUrl", "allowed_base_url", "check_base_url_address"]


@dataclass(frozen=True, slots=True)
class BaseUrl:
    """A base URL, normalised: scheme, host (lowercase, IDNA, canonical IP), port and path.

    Attributes:
        scheme: ``http`` or ``https``.
        host: The normalised host; ``2130706433`` and ``0x7f.1`` read as ``127.0.0.1``.
        port: The effective port.
        path: The path without its trailing slash (``""`` for the root).
    """

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> BaseUrl:
        """Read ``url``; refuse anything a prefix comparison could be fooled by.

        Raises:
            AddressRefused: For another scheme, credentials (``http://allowed@evil``), a
                malformed host, a query or fragment, or ``.``/``..`` path segments.
        """
        scheme, host, port = split_url(url)
        parts = urlsplit(url)
        if parts.query or parts.fragment or "?" in url or "#" in url:
            raise AddressRefused("invalid_url", "a base URL has no query or fragment")
        path = parts.path.rstrip("/")
        if any(segment in (".", "..") for segment in unquote(path).split("/")):
            raise AddressRefused("invalid_url", "a base URL has no '.' or '..' path segments")
        return cls(scheme, host, port, path)

    def under(self, prefix: BaseUrl) -> bool:
        """Whether this URL is ``prefix`` or below it (whole path segments only)."""
        if (self.scheme, self.host, self.port) != (prefix.scheme, prefix.host, prefix.port):
            return False
        return self.path == prefix.path or self.path.startswith(prefix.path + "/")

    @property
    def is_literal_ip(self) -> bool:
        """True when the host is an IP address rather than a name."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    def grant(self) -> HostGrant:
        """The ``http_request``-style grant of exactly this host and port, private allowed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return {"host": f"{host}:{self.port}", "allow_private": True}


def allowed_base_url(url: str, allowlist: Sequence[str]) -> bool:
    """Whether ``url`` lies under one of the operator's ``allowlist`` prefixes.

    Raises:
        AddressRefused: When ``url`` is not a usable base URL (see ``BaseUrl.parse``).
    """
    target = BaseUrl.parse(url)
    return any(target.under(BaseUrl.parse(prefix)) for prefix in allowlist)


async def check_base_url_address(url: str, resolver: Resolver | None = system_resolver) -> None:
    """Refuse a base URL that reaches cloud metadata or another always-refused address.

    Args:
        url: An allowlisted or superadmin-approved base URL.
        resolver: How names resolve; ``None`` checks literal IP hosts only (when an agent
            is saved, so that saving does not depend on DNS).

    Raises:
        AddressRefused: Naming why.
    """
    target = BaseUrl.parse(url)
    if resolver is None and not target.is_literal_ip:
        return
    await check_url(url, [target.grant()], resolver=resolver or system_resolver)
