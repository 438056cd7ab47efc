"""Tenants and API keys."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter

from baton.api.deps import Caller, Cursor, Limit, Svc
from baton.api.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    PageOut,
    TenantCreate,
    TenantPublic,
)

router = APIRouter(prefix="/api")


@router.post("/tenants", name="tenants.create", status_code=201, response_model=TenantPublic)
async def create_tenant(body: TenantCreate, caller: Caller, svc: Svc) -> object:
    """Create a tenant (superadmin)."""
    return await svc.tenancy.create_tenant(caller, body.name)


@router.get("/tenants", name="tenants.list", response_model=PageOut[TenantPublic])
async def list_tenants(
    caller: Caller, svc: Svc, limit: Limit = 100, cursor: Cursor = None
) -> object:
    """All tenants for a superadmin; the caller's own tenant otherwise."""
    page = await svc.tenancy.list_tenants(caller, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/tenants/{tenant_id}/api-keys",
    name="api_keys.create",
    status_code=201,
    response_model=ApiKeyIssued,
)
async def create_api_key(tenant_id: str, body: ApiKeyCreate, caller: Caller, svc: Svc) -> object:
    """Issue an API key; the secret is in the response and never shown again."""
    issued = await svc.tenancy.issue_key(caller, tenant_id, name=body.name, role=body.role)
    return {**dataclasses.asdict(issued.key), "key": issued.secret}


@router.delete("/api-keys/{key_id}", name="api_keys.revoke", response_model=ApiKeyPublic)
async def revoke_api_key(key_id: str, caller: Caller, svc: Svc) -> object:
    """Revoke a key at once."""
    return await svc.tenancy.revoke_key(caller, key_id)
