"""Network policy of HTTP tools: which URLs an agent may fetch, and the IP to connect to.

A URL is allowed when its host is granted to the agent version (deny by default) and every
address its name resolves to is public. The caller must connect to the returned pinned
IP (sending the original host in ``Host`` and SNI) so a second DNS answer cannot
redirect the request (DNS rebinding).

Grants are strings or dicts::

    "api.example.com"            any port of that host
    "api.example.com:8443"       that port only
    "*.example.com"              every subdomain (not example.com itself)
    {"host": "127.0.0.1:8080", "allow_private": true}

``allow_private`` lets a grant reach loopback, private, link-local, unique-local and
shared (CGNAT) addresses. Cloud metadata, unspecified, multicast, broadcast, reserved
and documentation addresses are refused for every grant.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "AddressRefused",
    "HostGrant",
    "HostRule",
    "ResolvedTarget",
    "Resolver",
    "check_url",
    "parse_grant",
    "split_url",
    "system_resolver",
]

HostGrant = str | Mapping[str, object]
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves ``(host, port)`` to IP address strings, in preference order."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 8192
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")

_ALWAYS = "always"
_PRIVATE = "private"

# First match wins: specific blocks (metadata) come before the ranges that contain them.
_BLOCKED: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, str]] = [
    (ipaddress.ip_network(net), reason, kind)
    for net, reason, kind in [
        ("169.254.169.254/32", "cloud metadata", _ALWAYS),
        ("fd00:ec2::254/128", "cloud metadata", _ALWAYS),
        ("168.63.129.16/32", "cloud metadata", _ALWAYS),
        ("100.100.100.200/32", "cloud metadata", _ALWAYS),
        ("0.0.0.0/8", "unspecified", _ALWAYS),
        ("::/128", "unspecified", _ALWAYS),
        ("255.255.255.255/32", "broadcast", _ALWAYS),
        ("224.0.0.0/4", "multicast", _ALWAYS),
        ("ff00::/8", "multicast", _ALWAYS),
        ("240.0.0.0/4", "reserved", _ALWAYS),
        ("192.0.0.0/24", "reserved", _ALWAYS),
        ("198.18.0.0/15", "reserved", _ALWAYS),
        ("100::/64", "reserved", _ALWAYS),
        ("2001::/23", "reserved", _ALWAYS),
        ("fec0::/10", "reserved", _ALWAYS),
        ("192.0.2.0/24", "documentation", _ALWAYS),
        ("198.51.100.0/24", "documentation", _ALWAYS),
        ("203.0.113.0/24", "documentation", _ALWAYS),
        ("2001:db8::/32", "documentation", _ALWAYS),
        ("127.0.0.0/8", "loopback", _PRIVATE),
        ("::1/128", "loopback", _PRIVATE),
        ("10.0.0.0/8", "private", _PRIVATE),
        ("172.16.0.0/12", "private", _PRIVATE),
        ("192.168.0.0/16", "private", _PRIVATE),
        ("100.64.0.0/10", "shared (CGNAT)", _PRIVATE),
        ("169.254.0.0/16", "link-local", _PRIVATE),
        ("fe80::/10", "link-local", _PRIVATE),
        ("fc00::/7", "unique-local", _PRIVATE),
        ("::/96", "reserved", _ALWAYS),  # IPv4-compatible IPv6, deprecated
    ]
]


class AddressRefused(Exception):
    """The URL may not be fetched; ``reason`` is a stable code, the message says why.

    Reasons: ``invalid_url``, ``scheme``, ``userinfo``, ``host_not_granted``,
    ``unresolvable``, ``forbidden_address``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class HostRule:
    """A parsed grant: a host (or ``*.suffix``), an optional port, and the private flag."""

    host: str
    port: int | None = None
    allow_private: bool = False

    @property
    def wildcard(self) -> bool:
        """True for ``*.example.com`` rules."""
        return self.host.startswith("*.")

    def matches(self, host: str, port: int) -> bool:
        """Whether this rule grants ``host`` (normalised) on ``port``."""
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            return host.endswith(self.host[1:]) and _literal_ip(host) is None
        return host == self.host

    def reaches_private(self) -> bool:
        """Whether the rule can reach private addresses: ``allow_private``, or a private IP host.

        Raises:
            AddressRefused: When the host is an IP address no grant may reach (metadata...).
        """
        literal = _literal_ip(self.host)
        if literal is not None:
            _check_address(self.host, str(literal), allow_private=True)
            try:
                _check_address(self.host, str(literal), allow_private=False)
            except AddressRefused:
                return True
        return self.allow_private


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """An allowed URL with the address to connect to.

    Attributes:
        url: The URL as given.
        scheme: ``http`` or ``https``.
        host: Normalised host name (lowercase, IDNA, no trailing dot) for Host and SNI.
        port: The effective port.
        ip: The pinned address to connect to.
        addresses: Every address the name resolved to, all checked.
        rule: The grant that allowed it.
    """

    url: str
    scheme: str
    host: str
    port: int
    ip: str
    addresses: tuple[str, ...]
    rule: HostRule


def parse_grant(grant: HostGrant) -> HostRule:
    """Parse one grant (see the module docstring) into a rule.

    Raises:
        ValueError: When the grant is malformed.
    """
    allow_private = False
    if isinstance(grant, Mapping):
        unknown = set(grant) - {"host", "allow_private"}
        if unknown:
            raise ValueError(f"unknown grant keys: {sorted(unknown)}")
        host_value, flag = grant.get("host"), grant.get("allow_private", False)
        if not isinstance(host_value, str) or not isinstance(flag, bool):
            raise ValueError("a grant needs a string 'host' and a boolean 'allow_private'")
        grant, allow_private = host_value, flag
    text = grant.strip().lower()
    wildcard = text.startswith("*.")
    if text.count(":") > 1 and not text.startswith("["):
        text = f"[{text}]"  # a bare IPv6 address, no port
    try:
        parts = urlsplit("//" + (text[2:] if wildcard else text))
        port = parts.port
        host = _normalise_host(parts.hostname or "")
    except ValueError as exc:
        raise ValueError(f"invalid host grant {grant!r}: {exc}") from None
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        raise ValueError(f"invalid host grant {grant!r}: only host[:port] is allowed")
    if wildcard and (_literal_ip(host) is not None or "." not in host):
        raise ValueError(f"invalid host grant {grant!r}: a wildcard needs a domain suffix")
    return HostRule(host=f"*.{host}" if wildcard else host, port=port, allow_private=allow_private)


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """Resolve with the event loop's ``getaddrinfo`` (the system resolver)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url(
    url: str,
    grants: Sequence[HostGrant],
    *,
    resolver: Resolver = system_resolver,
    honour_private: bool = True,
) -> ResolvedTarget:
    """Check ``url`` against ``grants`` and the address policy; return where to connect.

    Args:
        url: The URL the tool was asked to fetch.
        grants: The agent version's granted hosts; empty means nothing is allowed.
        resolver: Name resolution; tests pass a fake.
        honour_private: False treats every grant as without ``allow_private`` (when
            neither the operator nor a superadmin approved private grants).

    Raises:
        AddressRefused: When the URL is malformed, not granted, or resolves to an
            address the grant may not reach.
        ValueError: When a grant is malformed.
    """
    rules = [parse_grant(grant) for grant in grants]
    scheme, host, port = _parse_url(url)
    rule = next((r for r in rules if r.matches(host, port)), None)
    if rule is None:
        raise AddressRefused("host_not_granted", f"host {host}:{port} is not granted to this agent")
    literal = _literal_ip(host)
    if literal is not None:
        addresses: Sequence[str] = [str(literal)]
    else:
        try:
            addresses = await resolver(host, port)
        except OSError as exc:
            raise AddressRefused("unresolvable", f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise AddressRefused("unresolvable", f"{host} resolved to no address")
    for address in addresses:
        _check_address(host, address, rule.allow_private and honour_private)
    return ResolvedTarget(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        ip=_canonical(addresses[0]),
        addresses=tuple(_canonical(a) for a in addresses),
        rule=rule,
    )


def split_url(url: str) -> tuple[str, str, int]:
    """The scheme, normalised host and effective port of an http(s) URL, without resolving.

    Raises:
        AddressRefused: For a malformed URL, another scheme or credentials in the URL.
    """
    return _parse_url(url)


def _parse_url(url: str) -> tuple[str, str, int]:
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused("invalid_url", f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) <= 0x20 or ch == "\\" or ord(ch) == 0x7F for ch in url):
        raise AddressRefused("invalid_url", "URL contains whitespace, control or '\\' characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise AddressRefused(
            "scheme", f"scheme {scheme or '(none)'!r} is not allowed: http or https"
        )
    if "@" in parts.netloc:
        raise AddressRefused("userinfo", "credentials in the URL are not allowed")
    try:
        port = _DEFAULT_PORTS[scheme] if parts.port is None else parts.port
        host = _normalise_host(parts.hostname or "")
    except ValueError as exc:
        raise AddressRefused("invalid_url", f"invalid URL {url!r}: {exc}") from None
    if port == 0:
        raise AddressRefused("invalid_url", f"invalid URL {url!r}: port 0")
    return scheme, host, port


def _normalise_host(raw: str) -> str:
    """Lowercase, IDNA-encode, drop one trailing dot; IPs in canonical form.

    Numeric hosts are read the way ``inet_aton`` (and so the resolver and browsers) read
    them, so ``2130706433`` and ``0x7f.1`` become ``127.0.0.1``.
    """
    host = raw.lower().removesuffix(".")
    if not host:
        raise ValueError("no host")
    if ":" in host:
        if "%" in host:
            raise ValueError("IPv6 zone identifiers are not allowed")
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise ValueError(f"invalid IPv6 address {host!r}") from None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"invalid host name {raw!r}") from None
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            raise ValueError(f"invalid IPv4 address {host!r}") from None
    if not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"invalid host name {host!r}")
    return host


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _canonical(address: str) -> str:
    return str(ipaddress.ip_address(address.split("%")[0]))


def _check_address(host: str, address: str, allow_private: bool) -> None:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        raise AddressRefused("unresolvable", f"{host} resolved to {address!r}") from None
    for candidate in _embedded(ip):
        verdict = _classify(candidate)
        if verdict is None:
            continue
        reason, kind = verdict
        if kind == _ALWAYS or not allow_private:
            shown = address if candidate == ip else f"{address} ({candidate})"
            raise AddressRefused(
                "forbidden_address", f"{host} resolves to a {reason} address: {shown}"
            )


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The address and the IPv4 address inside it (mapped, NAT64, 6to4), if any."""
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            found.append(ip.ipv4_mapped)
        elif ip.sixtofour is not None:
            found.append(ip.sixtofour)
        elif ip in _NAT64:
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _classify(ip: IPAddress) -> tuple[str, str] | None:
    for network, reason, kind in _BLOCKED:
        if ip.version == network.version and ip in network:
            return reason, kind
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return None  # judged by its IPv4 address
    if not ip.is_global:
        return "non-public", _ALWAYS
    return None
