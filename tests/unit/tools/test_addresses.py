from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from baton.tools.addresses import (
    AddressRefused,
    HostGrant,
    HostRule,
    ResolvedTarget,
    check_url,
    parse_grant,
    system_resolver,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


class FakeResolver:
    """A DNS of fixed answers; records every lookup so tests can see none happened."""

    def __init__(self, answers: Mapping[str, Sequence[str]]) -> None:
        self.answers = answers
        self.lookups: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append((host, port))
        if host not in self.answers:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return self.answers[host]


async def check(
    url: str, grants: Sequence[HostGrant], answers: Mapping[str, Sequence[str]] | None = None
) -> ResolvedTarget:
    return await check_url(url, grants, resolver=FakeResolver(answers or {}))


async def refused(
    url: str, grants: Sequence[HostGrant], answers: Mapping[str, Sequence[str]] | None = None
) -> AddressRefused:
    with pytest.raises(AddressRefused) as info:
        await check(url, grants, answers)
    return info.value


async def test_granted_host_resolves_to_a_pinned_public_ip() -> None:
    target = await check(
        "https://api.example.com/v1/items?q=1",
        ["api.example.com"],
        {"api.example.com": [PUBLIC_V4]},
    )
    assert target.ip == PUBLIC_V4
    assert (target.scheme, target.host, target.port) == ("https", "api.example.com", 443)
    assert target.addresses == (PUBLIC_V4,)
    assert target.rule == HostRule("api.example.com")


async def test_first_answer_is_pinned_and_all_are_returned() -> None:
    answers = {"api.example.com": [PUBLIC_V6, PUBLIC_V4]}
    target = await check("http://api.example.com/", ["api.example.com"], answers)
    assert target.ip == PUBLIC_V6
    assert target.port == 80
    assert target.addresses == (PUBLIC_V6, PUBLIC_V4)


async def test_other_host_is_denied_without_any_lookup() -> None:
    resolver = FakeResolver({"evil.example.net": [PUBLIC_V4]})
    with pytest.raises(AddressRefused) as info:
        await check_url("https://evil.example.net/", ["api.example.com"], resolver=resolver)
    assert info.value.reason == "host_not_granted"
    assert resolver.lookups == []


async def test_no_grants_means_nothing_is_allowed() -> None:
    error = await refused("https://api.example.com/", [], {"api.example.com": [PUBLIC_V4]})
    assert error.reason == "host_not_granted"


@pytest.mark.parametrize(
    "host", ["api.example.com.evil.net", "evilapi.example.com", "example.com", "com"]
)
async def test_exact_grant_does_not_match_lookalikes(host: str) -> None:
    error = await refused(f"https://{host}/", ["api.example.com"], {host: [PUBLIC_V4]})
    assert error.reason == "host_not_granted"


async def test_host_matching_ignores_case_and_trailing_dot() -> None:
    target = await check(
        "https://API.Example.COM./", ["api.example.com"], {"api.example.com": [PUBLIC_V4]}
    )
    assert target.host == "api.example.com"


@pytest.mark.parametrize("host", ["a.example.com", "a.b.example.com"])
async def test_wildcard_matches_subdomains(host: str) -> None:
    target = await check(f"https://{host}/", ["*.example.com"], {host: [PUBLIC_V4]})
    assert target.host == host


@pytest.mark.parametrize("host", ["example.com", "notexample.com", "example.com.evil.net"])
async def test_wildcard_does_not_match_the_bare_domain_or_lookalikes(host: str) -> None:
    error = await refused(f"https://{host}/", ["*.example.com"], {host: [PUBLIC_V4]})
    assert error.reason == "host_not_granted"


async def test_granted_port_is_enforced() -> None:
    answers = {"api.example.com": [PUBLIC_V4]}
    assert (await check("https://api.example.com:8443/", ["api.example.com:8443"], answers)).port
    error = await refused("https://api.example.com/", ["api.example.com:8443"], answers)
    assert error.reason == "host_not_granted"


async def test_idn_hosts_are_matched_in_their_ascii_form() -> None:
    answers = {"xn--bcher-kva.example.com": [PUBLIC_V4]}
    target = await check("https://bücher.example.com/", ["*.example.com"], answers)
    assert target.host == "xn--bcher-kva.example.com"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://api.example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://api.example.com/", "scheme"),
        ("//api.example.com/", "scheme"),
        ("api.example.com", "scheme"),
        ("https://user:pass@api.example.com/", "userinfo"),
        ("https://user@api.example.com/", "userinfo"),
        ("https://evil.net@api.example.com/", "userinfo"),
        ("https://api.example.com\\@evil.net/", "invalid_url"),
        ("https://api.example.com /", "invalid_url"),
        ("https://api.exa\nmple.com/", "invalid_url"),
        ("https:///path", "invalid_url"),
        ("https://api.example.com:99999/", "invalid_url"),
        ("https://api.example.com:0/", "invalid_url"),
        ("https://api.example.com:http/", "invalid_url"),
        ("https://api_example.com/", "invalid_url"),
        ("https://1.2.3.4.5/", "invalid_url"),
        ("https://[::1%25eth0]/", "invalid_url"),
        ("https://" + "a" * 9000 + ".com/", "invalid_url"),
    ],
)
async def test_malformed_or_disallowed_urls(url: str, reason: str) -> None:
    error = await refused(url, ["api.example.com"], {"api.example.com": [PUBLIC_V4]})
    assert error.reason == reason


async def test_unresolvable_name_is_refused() -> None:
    error = await refused("https://api.example.com/", ["api.example.com"], {})
    assert error.reason == "unresolvable"
    error = await refused("https://api.example.com/", ["api.example.com"], {"api.example.com": []})
    assert error.reason == "unresolvable"


REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.2.10", "documentation"),
    ("2001:db8::1", "documentation"),
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("168.63.129.16", "cloud metadata"),
    # the same, hidden in IPv6 forms
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::ffff:100.64.0.1", "shared (CGNAT)"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("::127.0.0.1", "reserved"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("2001:0:4136:e378::1", "reserved"),  # Teredo
]


@pytest.mark.parametrize(("address", "reason"), REFUSED_ADDRESSES)
async def test_every_non_public_address_class_is_refused(address: str, reason: str) -> None:
    error = await refused(
        "https://api.example.com/", ["api.example.com"], {"api.example.com": [address]}
    )
    assert error.reason == "forbidden_address"
    assert f"a {reason} address" in str(error)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",  # decimal
        "http://0x7f000001/",  # hex
        "http://0x7f.1/",  # hex, short form
        "http://0177.0.0.1/",  # octal
        "http://017700000001/",  # octal, one number
        "http://127.1/",
        "http://127.0.0.1./",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    ],
)
async def test_loopback_spellings_are_all_recognised(url: str) -> None:
    grant = "::ffff:7f00:1" if "[" in url else "127.0.0.1"
    resolver = FakeResolver({})
    with pytest.raises(AddressRefused, match="loopback") as info:
        await check_url(url, [grant], resolver=resolver)
    assert info.value.reason == "forbidden_address"
    assert resolver.lookups == []  # literal addresses are never sent to DNS


async def test_numeric_spelling_does_not_match_a_name_grant() -> None:
    error = await refused("http://2130706433/", ["localhost"], {"localhost": ["127.0.0.1"]})
    assert error.reason == "host_not_granted"


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://0xa9fea9fe/"],
)
async def test_metadata_literals_are_refused(url: str) -> None:
    grant = "fd00:ec2::254" if "[" in url else "169.254.169.254"
    error = await refused(url, [{"host": grant, "allow_private": True}])
    assert "cloud metadata" in str(error)


async def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    answers = {"api.example.com": [PUBLIC_V4, PUBLIC_V6, "10.0.0.7"]}
    error = await refused("https://api.example.com/", ["api.example.com"], answers)
    assert error.reason == "forbidden_address"
    assert "10.0.0.7" in str(error)


async def test_allow_private_grant_reaches_a_local_service() -> None:
    grant = {"host": "127.0.0.1:8080", "allow_private": True}
    target = await check("http://127.0.0.1:8080/health", [grant])
    assert (target.ip, target.port) == ("127.0.0.1", 8080)
    assert target.rule.allow_private
    assert (await check("http://2130706433:8080/", [grant])).ip == "127.0.0.1"
    error = await refused("http://127.0.0.1:8081/", [grant])
    assert error.reason == "host_not_granted"


async def test_allow_private_applies_to_names_and_mixed_answers() -> None:
    grant = {"host": "*.corp.example", "allow_private": True}
    answers = {"git.corp.example": ["10.0.0.7", "fd12::7", PUBLIC_V4]}
    target = await check("https://git.corp.example/", [grant], answers)
    assert target.ip == "10.0.0.7"


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "224.0.0.1", "192.0.2.1"]
)
async def test_allow_private_never_unlocks_metadata_or_reserved(address: str) -> None:
    grant = {"host": "*.corp.example", "allow_private": True}
    error = await refused("https://x.corp.example/", [grant], {"x.corp.example": [address]})
    assert error.reason == "forbidden_address"


async def test_allow_private_is_per_grant() -> None:
    grants: list[HostGrant] = ["api.example.com", {"host": "127.0.0.1", "allow_private": True}]
    error = await refused("https://api.example.com/", grants, {"api.example.com": ["127.0.0.1"]})
    assert error.reason == "forbidden_address"


@pytest.mark.parametrize(
    ("grant", "rule"),
    [
        ("api.example.com", HostRule("api.example.com")),
        ("API.example.com.", HostRule("api.example.com")),
        ("api.example.com:8443", HostRule("api.example.com", 8443)),
        ("*.example.com", HostRule("*.example.com")),
        ("127.0.0.1:8080", HostRule("127.0.0.1", 8080)),
        ("::1", HostRule("::1")),
        ("[::1]:8080", HostRule("::1", 8080)),
        ({"host": "localhost:3000", "allow_private": True}, HostRule("localhost", 3000, True)),
        ({"host": "api.example.com"}, HostRule("api.example.com")),
    ],
)
def test_grant_shapes(grant: HostGrant, rule: HostRule) -> None:
    assert parse_grant(grant) == rule


@pytest.mark.parametrize(
    "grant",
    [
        "",
        "*",
        "*.com.",
        "*.127.0.0.1",
        "https://api.example.com",
        "api.example.com/path",
        "user@api.example.com",
        "api.example.com:99999",
        {"host": 5},
        {"host": "a.example.com", "allow_private": "yes"},
        {"host": "a.example.com", "ports": [80]},
    ],
)
def test_malformed_grants_are_rejected(grant: HostGrant) -> None:
    with pytest.raises(ValueError):
        parse_grant(grant)


async def test_system_resolver_resolves_localhost() -> None:
    addresses = await system_resolver("localhost", 80)
    assert {"127.0.0.1", "::1"} & set(addresses)
