"""HTTP MCP servers: the address policy, no connection without a granted call, no proxies
from the environment, bounded responses, and the IP pinned at each start."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from baton.config import Settings
from baton.domain.messages import ToolCall
from baton.domain.tools import ToolGrant, ToolResult
from baton.testing import InMemoryAuditLog
from baton.tools.gateway import ToolGateway
from baton.tools.mcp import McpManager
from baton.tools.mcp_config import McpServerConfig
from baton.tools.mcp_endpoint import McpNetwork
from baton.tools.registry import ToolContext, ToolRegistry
from tests.conftest import ADMIN_KEY
from tests.integration.tools.mcp_http_server import CountingListener, HttpMcpServer
from tests.support.api import app_client, make_tenant

TENANT = "t1"
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def remote(url: str, *, approved: bool = False) -> McpServerConfig:
    return McpServerConfig(
        id="srv-remote",
        tenant_id=TENANT,
        name="remote",
        transport="http",
        url=url,
        private_approved=approved,
    )


class Harness:
    def __init__(self, configs: Sequence[McpServerConfig], network: McpNetwork) -> None:
        self.configs = list(configs)
        self.manager = McpManager(
            self.load, start_timeout_s=10, call_timeout_s=10, backoff_base_s=0.01, network=network
        )
        self.registry = ToolRegistry(source=self.manager)
        self.gateway = ToolGateway(self.registry, InMemoryAuditLog())

    async def load(self, tenant_id: str) -> Sequence[McpServerConfig]:
        return [c for c in self.configs if c.tenant_id == tenant_id]

    async def call(self, name: str, arguments: dict[str, Any], grants: Sequence[str]) -> ToolResult:
        ctx = ToolContext(TENANT, agent_id="a1", grants=[ToolGrant(g) for g in grants])
        return await self.gateway.call(ToolCall.from_arguments("c1", name, arguments), ctx)


@pytest.fixture
async def mcp_server() -> AsyncIterator[HttpMcpServer]:
    async with HttpMcpServer() as server:
        yield server


@pytest.fixture
async def harnesses() -> AsyncIterator[list[Harness]]:
    made: list[Harness] = []
    yield made
    for h in made:
        await h.manager.aclose()


def harness(made: list[Harness], configs: Sequence[McpServerConfig], **network: Any) -> Harness:
    h = Harness(configs, McpNetwork(**network))
    made.append(h)
    return h


# --- connecting only for granted calls ---------------------------------------------------


async def test_an_ungranted_call_neither_connects_nor_starts_the_server(
    harnesses: list[Harness], mcp_server: HttpMcpServer, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    stdio = McpServerConfig(
        id="srv-local",
        tenant_id=TENANT,
        name="local",
        transport="stdio",
        command=sys.executable,
        args=("-c", f"open({str(marker)!r}, 'w').close()"),
    )
    h = harness(harnesses, [remote(mcp_server.url), stdio], allow_private=True)
    for name in ("mcp.remote.add", "mcp.local.add"):
        denied = await h.call(name, {"a": 1, "b": 2}, grants=["mcp.remote.big", "calculator"])
        assert denied.error is not None and denied.error.startswith("not_granted:"), denied
    assert mcp_server.requests == 0
    assert not marker.exists()
    # Tool definitions for a run connect only to the servers of granted tools.
    definitions = await h.gateway.definitions([ToolGrant("mcp.remote.add")], TENANT)
    assert [d.name for d in definitions] == ["mcp.remote.add"]
    assert mcp_server.requests > 0 and not marker.exists()
    granted = await h.call("mcp.remote.add", {"a": 1, "b": 2}, grants=["mcp.remote.add"])
    assert granted.success and granted.data == {"result": 3}, granted.error


async def test_the_catalogue_connects_to_nothing_and_shows_live_servers_tools(
    harnesses: list[Harness], mcp_server: HttpMcpServer
) -> None:
    h = harness(harnesses, [remote(mcp_server.url)], allow_private=True)
    assert [t.name for t in await h.registry.tools(TENANT)] == ["mcp.remote.*"]
    assert mcp_server.requests == 0
    assert (await h.call("mcp.remote.add", {"a": 2, "b": 2}, ["mcp.remote.add"])).success
    names = {t.name for t in await h.registry.tools(TENANT)}
    assert names == {"mcp.remote.add", "mcp.remote.big"}


async def test_listing_tools_as_a_viewer_connects_to_no_server(
    settings: Settings, mcp_server: HttpMcpServer
) -> None:
    async with app_client(
        settings.model_copy(update={"mcp_allow_private": True}), key=ADMIN_KEY
    ) as c:
        t = await make_tenant(c, "acme")
        body = {"name": "remote", "transport": "http", "url": mcp_server.url}
        created = await c.post("/api/mcp-servers", json=body, headers=t.auth("admin"))
        assert created.status_code == 201, created.text
        r = await c.get("/api/tools", headers=t.auth("viewer"))
        assert r.status_code == 200, r.text
        assert [x["name"] for x in r.json()["items"] if x["kind"] == "mcp"] == ["mcp.remote.*"]
    assert mcp_server.requests == 0


# --- the address policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://127.0.0.1:9/mcp",
        "http://10.0.0.12:2375/",
        "http://[::ffff:169.254.169.254]/",
        "http://2130706433/mcp",
        "http://localhost:9/mcp",
    ],
)
async def test_a_tenant_admin_cannot_register_internal_urls(
    client: httpx.AsyncClient, url: str
) -> None:
    t = await make_tenant(client, "acme")
    body = {"name": "remote", "transport": "http", "url": url}
    r = await client.post("/api/mcp-servers", json=body, headers=t.auth("admin"))
    assert r.status_code == 422, r.text
    (detail,) = r.json()["error"]["details"]
    assert detail["field"] == "url"
    assert (await client.get("/api/mcp-servers", headers=t.auth("admin"))).json()["items"] == []


async def test_private_urls_need_the_setting_or_a_superadmin_metadata_never(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    loopback = {"name": "remote", "transport": "http", "url": "http://127.0.0.1:9/mcp"}
    metadata = {"name": "meta", "transport": "http", "url": "http://169.254.169.254/"}
    t = await make_tenant(client, "acme")
    assert (
        await client.post("/api/mcp-servers", json=loopback, headers=t.auth("admin"))
    ).status_code == 422
    by_superadmin = await client.post("/api/mcp-servers", json=loopback)
    assert by_superadmin.status_code == 201, by_superadmin.text
    assert by_superadmin.json()["private_approved"] is True
    assert (await client.post("/api/mcp-servers", json=metadata)).status_code == 422

    async with app_client(
        settings.model_copy(update={"mcp_allow_private": True}), key=ADMIN_KEY
    ) as c:
        other = await make_tenant(c, "other")
        ok = await c.post("/api/mcp-servers", json=loopback, headers=other.auth("admin"))
        assert ok.status_code == 201, ok.text
        assert ok.json()["private_approved"] is False
        r = await c.post("/api/mcp-servers", json=metadata, headers=other.auth("admin"))
        assert r.status_code == 422 and "cloud metadata" in r.text


async def test_connecting_rechecks_the_address(
    harnesses: list[Harness], mcp_server: HttpMcpServer
) -> None:
    # Stored before the check existed (or a name that now resolves to loopback).
    h = harness(harnesses, [remote(mcp_server.url)], allow_private=False)
    refused = await h.call("mcp.remote.add", {"a": 1, "b": 2}, ["mcp.remote.add"])
    assert refused.error is not None and refused.error.startswith("mcp_unavailable:")
    assert "loopback" in refused.error
    assert mcp_server.requests == 0
    approved = harness(harnesses, [remote(mcp_server.url, approved=True)], allow_private=False)
    ok = await approved.call("mcp.remote.add", {"a": 1, "b": 2}, ["mcp.remote.add"])
    assert ok.success, ok.error


async def test_the_connection_goes_to_the_checked_ip_with_the_name_kept(
    harnesses: list[Harness], mcp_server: HttpMcpServer
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        assert host == "mcp.internal.test"
        return ["127.0.0.1"]

    # The name resolves only through the checked resolver: the system one cannot find it.
    url = f"http://mcp.internal.test:{mcp_server.port}/mcp"
    h = harness(harnesses, [remote(url)], allow_private=True, resolver=resolver)
    ok = await h.call("mcp.remote.add", {"a": 5, "b": 6}, ["mcp.remote.add"])
    assert ok.success and ok.data == {"result": 11}, ok.error
    assert set(mcp_server.hosts) == {f"mcp.internal.test:{mcp_server.port}"}


# --- proxies and response sizes ----------------------------------------------------------


@pytest.fixture
async def proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[CountingListener]:
    async with CountingListener() as listener:
        for name in PROXY_VARS:
            monkeypatch.setenv(name, listener.url)
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.setenv("no_proxy", "")
        yield listener


async def test_proxy_environment_variables_are_ignored(
    harnesses: list[Harness], mcp_server: HttpMcpServer, proxy: CountingListener
) -> None:
    h = harness(harnesses, [remote(mcp_server.url)], allow_private=True)
    ok = await h.call("mcp.remote.add", {"a": 1, "b": 1}, ["mcp.remote.add"])
    assert ok.success and ok.data == {"result": 2}, ok.error
    assert proxy.connections == 0 and mcp_server.requests > 0


async def test_the_operator_may_trust_the_proxy_environment(
    harnesses: list[Harness], mcp_server: HttpMcpServer, proxy: CountingListener
) -> None:
    h = harness(harnesses, [remote(mcp_server.url)], allow_private=True, trust_env=True)
    result = await h.call("mcp.remote.add", {"a": 1, "b": 1}, ["mcp.remote.add"])
    assert result.error is not None  # the stand-in proxy hangs up
    assert proxy.connections > 0 and mcp_server.requests == 0


@pytest.mark.parametrize("json_response", [False, True])
async def test_an_oversized_response_fails_the_call_not_the_server(
    harnesses: list[Harness], json_response: bool
) -> None:
    async with HttpMcpServer(json_response=json_response) as server:
        h = harness(
            harnesses, [remote(server.url)], allow_private=True, max_response_bytes=64 * 1024
        )
        grants = ["mcp.remote.big"]
        fits = await h.call("mcp.remote.big", {"size": 1000}, grants)
        assert fits.success and fits.data == {"result": "x" * 1000}, fits.error
        big = await h.call("mcp.remote.big", {"size": 200_000}, grants)
        assert big.error is not None and big.error.startswith("mcp_response_too_large:"), big
        assert "65536 bytes" in big.error
        again = await h.call("mcp.remote.big", {"size": 10}, grants)
        assert again.success, again.error
        await h.manager.aclose()
