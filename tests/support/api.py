"""Small helpers for API tests: tenants and keys of each role."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


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
