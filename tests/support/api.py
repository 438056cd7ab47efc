"""Small helpers for API tests: tenants and keys of each role."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from baton.bootstrap import create_app
from baton.config import Settings


@dataclass
class TenantKeys:
    """A tenant and one key per role in it."""

    tenant_id: str
    keys: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        """Headers authenticating as ``role`` in this tenant."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


async def make_tenant(client: httpx.AsyncClient, name: str) -> TenantKeys:
    """Create a tenant (as the superadmin the client holds) with admin, developer and viewer."""
    response = await client.post("/api/tenants", json={"name": name})
    assert response.status_code == 201, response.text
    tenant_id = response.json()["id"]
    keys = {}
    for role in ("admin", "developer", "viewer"):
        r = await client.post(
            f"/api/tenants/{tenant_id}/api-keys", json={"name": f"{role} key", "role": role}
        )
        assert r.status_code == 201, r.text
        keys[role] = r.json()["key"]
    return TenantKeys(tenant_id, keys)


@contextlib.asynccontextmanager
async def app_client(
    settings: Settings, *, key: str | None = None, address: tuple[str, int] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app started (lifespan run) in this process, with ``key`` by default.

    Args:
        settings: The app's settings.
        key: Sent as the bearer key on every request unless a request sets its own.
        address: The client address the app sees (default 127.0.0.1).
    """
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=address or ("127.0.0.1", 123))
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as c:
            if key is not None:
                c.headers["Authorization"] = f"Bearer {key}"
            yield c
