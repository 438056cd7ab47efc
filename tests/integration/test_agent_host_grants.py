"""Private http_request grants: tenant admins need the operator's setting; superadmins may."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from baton.config import Settings
from tests.conftest import ADMIN_KEY
from tests.support.api import app_client, make_tenant

DOCKER = {"host": "10.0.0.12:2375", "allow_private": True}


def body(*hosts: object, **grants: Any) -> dict[str, Any]:
    return {
        "name": "fetcher",
        "capabilities": ["chat"],
        "tools": [
            "calculator",
            {"name": "http_request", "grants": {"hosts": list(hosts), **grants}},
        ],
        "config": {"provider": "scripted", "model": "echo"},
    }


def fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {d["field"]: d["reason"] for d in response.json()["error"]["details"]}


@pytest.mark.parametrize(
    "grant", [DOCKER, "127.0.0.1:8080", "[::1]", "169.254.10.1", "192.168.1.1:80"]
)
async def test_a_tenant_admin_cannot_grant_private_addresses(
    client: httpx.AsyncClient, grant: object
) -> None:
    t = await make_tenant(client, "acme")
    r = await client.post(
        "/api/agents", json=body("api.example.com", grant), headers=t.auth("admin")
    )
    problems = fields(r)
    assert set(problems) == {"tools[1].grants.hosts[1]"}
    assert "BATON_HTTP_TOOL_ALLOW_PRIVATE" in problems["tools[1].grants.hosts[1]"]
    # Claiming the server-set approval changes nothing.
    r = await client.post(
        "/api/agents", json=body(grant, private_approved=True), headers=t.auth("admin")
    )
    assert set(fields(r)) == {"tools[1].grants.hosts[0]"}


async def test_a_tenant_admin_cannot_add_one_by_patch(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    created = await client.post(
        "/api/agents", json=body("api.example.com"), headers=t.auth("admin")
    )
    assert created.status_code == 201, created.text
    assert created.json()["tools"][1]["grants"] == {"hosts": ["api.example.com"]}
    patch = {"tools": body("api.example.com", DOCKER)["tools"]}
    r = await client.patch(
        f"/api/agents/{created.json()['id']}", json=patch, headers=t.auth("admin")
    )
    assert set(fields(r)) == {"tools[1].grants.hosts[1]"}


async def test_malformed_grants_are_refused_naming_the_grant(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    bad = body("api.example.com", "http://x.example/path", {"host": "a.example", "port": 1})
    problems = fields(await client.post("/api/agents", json=bad, headers=t.auth("admin")))
    assert set(problems) == {"tools[1].grants.hosts[1]", "tools[1].grants.hosts[2]"}
    not_a_list = body() | {"tools": [{"name": "http_request", "grants": {"hosts": "a.example"}}]}
    problems = fields(await client.post("/api/agents", json=not_a_list, headers=t.auth("admin")))
    assert set(problems) == {"tools[0].grants.hosts"}
    metadata = body({"host": "169.254.169.254", "allow_private": True})
    problems = fields(await client.post("/api/agents", json=metadata))  # even a superadmin
    assert "cloud metadata" in problems["tools[1].grants.hosts[0]"]


async def test_a_superadmin_may_grant_private_addresses(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/agents", json=body(DOCKER, private_approved=False))
    assert r.status_code == 201, r.text
    assert r.json()["tools"][1]["grants"] == {"hosts": [DOCKER], "private_approved": True}


async def test_with_the_operator_setting_a_tenant_admin_may(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    t = await make_tenant(client, "acme")
    without = await client.post("/api/agents", json=body(DOCKER), headers=t.auth("admin"))
    assert without.status_code == 422, without.text  # the setting is what makes the difference
    async with app_client(
        settings.model_copy(update={"http_tool_allow_private": True}), key=ADMIN_KEY
    ) as c:
        t = await make_tenant(c, "other")
        r = await c.post("/api/agents", json=body(DOCKER), headers=t.auth("admin"))
        assert r.status_code == 201, r.text
        # The setting covers it: nothing is recorded as a superadmin's approval.
        assert r.json()["tools"][1]["grants"] == {"hosts": [DOCKER]}
