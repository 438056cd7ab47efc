"""Tenant isolation: a key of tenant A never sees or changes tenant B's objects (404)."""

from __future__ import annotations

import httpx
import pytest

from baton.api.app import ROUTERS
from baton.config import Settings
from tests.support.api import make_tenant


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Tenant admins may register the loopback MCP server below (BATON_MCP_ALLOW_PRIVATE)."""
    return settings.model_copy(update={"mcp_allow_private": True})


# Every API route that names an object, and how to call it against tenant B's object.
OBJECT_ROUTES = {
    "projects.get": ("GET", "/api/projects/{project}", None),
    "projects.update": ("PATCH", "/api/projects/{project}", {"description": "hacked"}),
    "projects.delete": ("DELETE", "/api/projects/{project}", None),
    "api_keys.create": ("POST", "/api/tenants/{tenant}/api-keys", {"name": "x", "role": "viewer"}),
    "api_keys.revoke": ("DELETE", "/api/api-keys/{key}", None),
    "agents.get": ("GET", "/api/agents/{agent}", None),
    "agents.update": ("PATCH", "/api/agents/{agent}", {"description": "hacked"}),
    "agents.delete": ("DELETE", "/api/agents/{agent}", None),
    "agents.versions": ("GET", "/api/agents/{agent}/versions", None),
    "mcp_servers.delete": ("DELETE", "/api/mcp-servers/{mcp}", None),
    "tasks.get": ("GET", "/api/agents/tasks/{task}", None),
    "tasks.cancel": ("POST", "/api/agents/tasks/{task}/cancel", None),
    "tasks.trace": ("GET", "/api/agents/tasks/{task}/trace", None),
    "tasks.events": ("GET", "/api/agents/tasks/{task}/events", None),
}
# Routes without an object id are scoped by the caller's tenant; checked below.
COLLECTION_ROUTES = {
    "projects.list",
    "projects.create",
    "tenants.list",
    "tenants.create",
    "audit.search",
    "audit.verify",
    "audit.checkpoints",
    "audit.retention_get",
    "audit.retention_set",
    "agents.list",
    "agents.create",
    "tools.list",
    "mcp_servers.list",
    "mcp_servers.create",
    "tasks.submit",
    "tasks.list",
    "events.stream",
    "webhooks.secret",
}


def test_isolation_table_covers_every_api_route() -> None:
    names = {r.name for router in ROUTERS for r in router.routes if r.path.startswith("/api")}  # type: ignore[attr-defined]
    assert names == set(OBJECT_ROUTES) | COLLECTION_ROUTES


async def test_other_tenants_objects_are_404_on_every_route(client: httpx.AsyncClient) -> None:
    a = await make_tenant(client, "tenant-a")
    b = await make_tenant(client, "tenant-b")
    project = (
        await client.post("/api/projects", json={"name": "b-secret"}, headers=b.auth("admin"))
    ).json()["id"]
    key = (
        await client.post(
            f"/api/tenants/{b.tenant_id}/api-keys", json={"name": "b", "role": "viewer"}
        )
    ).json()["id"]
    agent_body = {"name": "b-agent", "config": {"provider": "scripted", "model": "echo"}}
    agent = (await client.post("/api/agents", json=agent_body, headers=b.auth("admin"))).json()
    mcp_body = {"name": "b-mcp", "transport": "http", "url": "http://127.0.0.1:9/mcp"}
    mcp = (await client.post("/api/mcp-servers", json=mcp_body, headers=b.auth("admin"))).json()
    task_body = {"agent_id": agent["id"], "task_type": "t", "input": {"prompt": "hi"}}
    task = await client.post("/api/agents/tasks", json=task_body, headers=b.auth("developer"))
    assert task.status_code == 202, task.text
    for name, (method, path, body) in OBJECT_ROUTES.items():
        url = path.format(
            project=project,
            tenant=b.tenant_id,
            key=key,
            agent=agent["id"],
            mcp=mcp["id"],
            task=task.json()["id"],
        )
        r = await client.request(method, url, json=body, headers=a.auth("admin"))
        assert r.status_code == 404, (name, r.status_code, r.text)
        assert r.json()["error"]["code"] == "not_found"
    # Nothing of B changed: the project and the key still work for B.
    got = await client.get(f"/api/projects/{project}", headers=b.auth("viewer"))
    assert got.status_code == 200 and got.json()["description"] == ""
    keys_b = await client.get("/api/projects", headers=b.auth("viewer"))
    assert keys_b.status_code == 200
    got = await client.get(f"/api/agents/{agent['id']}", headers=b.auth("viewer"))
    assert got.json() == agent  # not renamed, not deactivated
    mine = await client.get(f"/api/agents/tasks/{task.json()['id']}", headers=b.auth("viewer"))
    assert mine.json()["cancel_requested"] is False
    servers = await client.get("/api/mcp-servers", headers=b.auth("viewer"))
    assert [m["id"] for m in servers.json()["items"]] == [mcp["id"]]


async def test_lists_and_creates_are_scoped_to_the_callers_tenant(
    client: httpx.AsyncClient,
) -> None:
    a = await make_tenant(client, "tenant-a")
    b = await make_tenant(client, "tenant-b")
    await client.post("/api/projects", json={"name": "shared-name"}, headers=a.auth("developer"))
    # The same name in another tenant is no conflict: names are unique per tenant only.
    r = await client.post(
        "/api/projects", json={"name": "shared-name"}, headers=b.auth("developer")
    )
    assert r.status_code == 201
    assert r.json()["tenant_id"] == b.tenant_id
    listed_a = (await client.get("/api/projects", headers=a.auth("viewer"))).json()["items"]
    assert {p["tenant_id"] for p in listed_a} == {a.tenant_id}
    assert len(listed_a) == 1
    tenants_a = (await client.get("/api/tenants", headers=a.auth("admin"))).json()["items"]
    assert [t["id"] for t in tenants_a] == [a.tenant_id]
    everything = (await client.get("/api/tenants")).json()["items"]  # superadmin
    assert {a.tenant_id, b.tenant_id} <= {t["id"] for t in everything}
