"""GET /api/tools and /api/mcp-servers: listing, roles, secrets kept out, audited."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from baton.config import Settings
from tests.support.api import make_tenant

DEMO = str(Path(__file__).parent / "mcp_demo_server.py")
HTTP_SERVER = {"name": "remote", "transport": "http", "url": "http://127.0.0.1:9/mcp"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Tenant admins may register loopback servers here (BATON_MCP_ALLOW_PRIVATE)."""
    return settings.model_copy(update={"mcp_allow_private": True})


async def test_tools_lists_the_builtins_with_schemas(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    r = await client.get("/api/tools", headers=t.auth("viewer"))
    assert r.status_code == 200, r.text
    tools = {tool["name"]: tool for tool in r.json()["items"]}
    assert set(tools) == {"calculator", "python", "http_request", "current_time"}
    assert tools["calculator"]["parameters"]["required"] == ["expression"]
    assert tools["http_request"]["parameters"]["properties"]["method"]["enum"] == ["GET", "POST"]
    assert tools["python"]["kind"] == "builtin"
    assert tools["python"]["limits"]["timeout_s"] > 0
    assert tools["current_time"]["limits"]["max_output_bytes"] > 0


async def test_mcp_server_lifecycle_is_audited_and_hides_env_values(
    client: httpx.AsyncClient,
) -> None:
    body = {
        "name": "demo",
        "transport": "stdio",
        "command": sys.executable,
        "args": [DEMO],
        "env": {"DEMO_TOKEN": "s3cret-value"},
    }
    created = await client.post("/api/mcp-servers", json=body)  # the superadmin
    assert created.status_code == 201, created.text
    server = created.json()
    assert server["env_keys"] == ["DEMO_TOKEN"] and "env" not in server
    assert (await client.post("/api/mcp-servers", json=body)).status_code == 409

    listed = (await client.get("/api/mcp-servers")).json()["items"]
    assert [s["name"] for s in listed] == ["demo"]
    assert "s3cret-value" not in str(listed)

    # Listing starts no server: one entry stands for the tools not listed yet.
    tools = (await client.get("/api/tools")).json()["items"]
    mcp = {t["name"]: t for t in tools if t["kind"] == "mcp"}
    assert set(mcp) == {"mcp.demo.*"}
    assert "'demo'" in mcp["mcp.demo.*"]["description"]

    assert (await client.delete(f"/api/mcp-servers/{server['id']}")).status_code == 204
    assert (await client.delete(f"/api/mcp-servers/{server['id']}")).status_code == 404
    assert (await client.get("/api/mcp-servers")).json()["items"] == []

    audit = (await client.get("/api/audit", params={"type": "admin_action"})).json()["items"]
    actions = {e["payload"]["action"]: e["payload"] for e in audit}
    assert actions["mcp_server.created"]["env_keys"] == ["DEMO_TOKEN"]
    assert actions["mcp_server.removed"]["target"] == server["id"]
    assert "s3cret-value" not in str(audit)


async def test_stdio_servers_need_superadmin_and_input_is_checked(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    stdio = {"name": "local", "transport": "stdio", "command": "/bin/true"}
    r = await client.post("/api/mcp-servers", json=stdio, headers=t.auth("admin"))
    assert r.status_code == 403 and "superadmin" in r.json()["error"]["message"]
    r = await client.post("/api/mcp-servers", json=HTTP_SERVER, headers=t.auth("admin"))
    assert r.status_code == 201
    assert (
        await client.post("/api/mcp-servers", json=HTTP_SERVER, headers=t.auth("developer"))
    ).status_code == 403
    bad = [
        {"name": "Bad Name", "transport": "http", "url": "http://127.0.0.1:9/"},
        {"name": "x", "transport": "carrier-pigeon"},
        {"name": "x", "transport": "http", "url": "ftp://127.0.0.1/"},
        {"name": "x", "transport": "http", "url": "http://user:pw@127.0.0.1/"},
        {"name": "x", "transport": "stdio"},
    ]
    for body in bad:
        r = await client.post("/api/mcp-servers", json=body, headers=t.auth("admin"))
        assert r.status_code == 422, (body, r.text)


async def test_mcp_servers_are_per_tenant(client: httpx.AsyncClient) -> None:
    a = await make_tenant(client, "tenant-a")
    b = await make_tenant(client, "tenant-b")
    created = await client.post("/api/mcp-servers", json=HTTP_SERVER, headers=b.auth("admin"))
    # The same name in another tenant is no conflict.
    assert (
        await client.post("/api/mcp-servers", json=HTTP_SERVER, headers=a.auth("admin"))
    ).status_code == 201
    listed = (await client.get("/api/mcp-servers", headers=a.auth("viewer"))).json()["items"]
    assert created.json()["id"] not in [s["id"] for s in listed]
    r = await client.delete(f"/api/mcp-servers/{created.json()['id']}", headers=a.auth("admin"))
    assert r.status_code == 404
