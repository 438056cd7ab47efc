"""Authentication, roles and first-start bootstrap."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx
import pytest

from baton.api.app import ROUTERS
from baton.api.policy import MINIMUM_ROLE
from baton.bootstrap import create_app
from baton.config import Settings
from tests.conftest import ADMIN_KEY
from tests.support.api import make_tenant


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Tenant admins may register the loopback MCP server below (BATON_MCP_ALLOW_PRIVATE)."""
    return settings.model_copy(update={"mcp_allow_private": True})


async def test_missing_key_is_401(client: httpx.AsyncClient) -> None:
    del client.headers["Authorization"]
    r = await client.get("/api/projects")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("header", ["Bearer bk_nope", "Basic abc", "Bearer ", "bk_raw"])
async def test_bad_or_malformed_key_is_401(client: httpx.AsyncClient, header: str) -> None:
    r = await client.get("/api/projects", headers={"Authorization": header})
    assert r.status_code == 401
    assert set(r.json()["error"]) == {"code", "message", "details"}


async def test_issued_key_is_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    t = await make_tenant(client, "acme")
    key = t.keys["developer"]
    assert key.startswith("bk_") and len(key) > 40
    r = await client.get("/api/projects", headers=t.auth("developer"))
    assert r.status_code == 200
    # The secret is nowhere in the database file/rows: only its hash is kept.
    from baton.store.database import Database

    db = Database(settings.effective_database_url)
    try:
        async with db.engine.connect() as conn:
            from sqlalchemy import text

            rows = (await conn.execute(text("SELECT key_hash, prefix FROM api_keys"))).all()
    finally:
        await db.dispose()
    assert all(key not in (h, p) for h, p in rows)
    assert any(key.startswith(p) for _, p in rows)


async def test_revoked_key_stops_working_at_once(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    r = await client.post(
        f"/api/tenants/{t.tenant_id}/api-keys", json={"name": "ci", "role": "viewer"}
    )
    key_id, secret = r.json()["id"], r.json()["key"]
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/projects", headers=auth)).status_code == 200
    revoked = await client.delete(f"/api/api-keys/{key_id}", headers=t.auth("admin"))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert "key" not in revoked.json()
    assert (await client.get("/api/projects", headers=auth)).status_code == 401


ROLE_CASES = [
    # (method, path, body, least role that may)
    ("POST", "/api/tenants", {"name": "new-tenant"}, "superadmin"),
    ("POST", "/api/tenants/{tenant}/api-keys", {"name": "k", "role": "viewer"}, "admin"),
    ("POST", "/api/projects", {"name": "p-{role}"}, "developer"),
    ("GET", "/api/projects", None, "viewer"),
    ("GET", "/api/tenants", None, "viewer"),
    ("PATCH", "/api/projects/{project}", {"description": "x"}, "developer"),
    ("DELETE", "/api/projects/{project}", None, "admin"),
    (
        "POST",
        "/api/agents",
        {"name": "a-{role}", "config": {"provider": "local", "model": "smollm2-135m"}},
        "admin",
    ),
    ("GET", "/api/agents", None, "viewer"),
    ("GET", "/api/tools", None, "viewer"),
    ("GET", "/api/mcp-servers", None, "viewer"),
    (
        "POST",
        "/api/mcp-servers",
        {"name": "m-{role}", "transport": "http", "url": "http://127.0.0.1:9/mcp"},
        "admin",
    ),
]
ORDER = ["viewer", "developer", "admin"]


@pytest.mark.parametrize(("method", "path", "body", "least"), ROLE_CASES)
async def test_roles_are_enforced(
    client: httpx.AsyncClient, method: str, path: str, body: object, least: str
) -> None:
    t = await make_tenant(client, "acme")
    for role in ORDER:
        created = await client.post(
            "/api/projects", json={"name": f"target-{role}"}, headers=t.auth("admin")
        )
        project = created.json()["id"]
        url = path.format(tenant=t.tenant_id, project=project)
        payload = None
        if body is not None:
            payload = {
                k: (v.format(role=role) if isinstance(v, str) else v) for k, v in body.items()
            }  # type: ignore[attr-defined]
            if "name" in payload and method == "POST" and path == "/api/tenants":
                payload["name"] = f"tenant-{role}"
        r = await client.request(method, url, json=payload, headers=t.auth(role))
        allowed = least != "superadmin" and ORDER.index(role) >= ORDER.index(least)
        if allowed:
            assert r.status_code < 400, (role, r.text)
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)
            assert r.json()["error"]["code"] == "forbidden"


async def test_admin_cannot_issue_a_key_above_its_role(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    r = await client.post(
        f"/api/tenants/{t.tenant_id}/api-keys",
        json={"name": "up", "role": "superadmin"},
        headers=t.auth("admin"),
    )
    assert r.status_code == 403


async def test_unknown_role_is_422(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    r = await client.post(f"/api/tenants/{t.tenant_id}/api-keys", json={"name": "x", "role": "god"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "role"


def test_every_api_route_has_an_access_policy() -> None:
    api_routes = {
        r.name
        for router in ROUTERS
        for r in router.routes
        if r.path.startswith("/api")  # type: ignore[attr-defined]
    }
    assert len(api_routes) >= 9
    assert api_routes <= set(MINIMUM_ROLE), api_routes - set(MINIMUM_ROLE)


async def test_first_start_generates_a_superadmin_key_file(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    settings = Settings(database_url=db_url, data_dir=data, auto_migrate=False)
    shown: list[str] = []
    app = create_app(settings, on_bootstrap=lambda result: shown.append(result.secret))
    async with app.router.lifespan_context(app):
        key_file = data / "admin.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert shown == [key]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/api/tenants", headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200
            assert [t["name"] for t in r.json()["items"]] == ["default"]
            r = await c.post(
                "/api/tenants", json={"name": "second"}, headers={"Authorization": f"Bearer {key}"}
            )
            assert r.status_code == 201  # the key is a superadmin's
    # A second start on the same database creates nothing and prints nothing.
    app2 = create_app(settings, on_bootstrap=lambda result: shown.append(result.secret))
    async with app2.router.lifespan_context(app2):
        pass
    assert len(shown) == 1


async def test_first_start_uses_baton_admin_key(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    r = await client.get("/api/tenants", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 200
    assert not (settings.data_dir / "admin.key").exists()


async def test_a_key_revoked_through_another_process_stops_within_the_cache_time(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    t = await make_tenant(client, "acme")
    r = await client.post(
        f"/api/tenants/{t.tenant_id}/api-keys", json={"name": "ci", "role": "viewer"}
    )
    key_id, secret = r.json()["id"], r.json()["key"]
    auth = {"Authorization": f"Bearer {secret}"}
    # A second server on the same database, with a short read cache.
    other = create_app(settings.model_copy(update={"read_cache_s": 0.3}))
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as remote:
            assert (await remote.get("/api/projects", headers=auth)).status_code == 200
            revoked = await client.delete(f"/api/api-keys/{key_id}", headers=t.auth("admin"))
            assert revoked.status_code == 200
            await asyncio.sleep(0.4)
            assert (await remote.get("/api/projects", headers=auth)).status_code == 401
