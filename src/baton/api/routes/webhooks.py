"""Webhooks: the tenant's signing secret, for receivers to verify deliveries."""

from __future__ import annotations

from fastapi import APIRouter

from baton.api.deps import Caller, Svc

router = APIRouter(prefix="/api")


@router.get("/webhooks/secret", name="webhooks.secret", response_model=dict[str, str])
async def webhook_secret(caller: Caller, svc: Svc) -> object:
    """The caller's tenant's webhook signing secret (hex); see ``baton.domain.webhooks``."""
    return {"secret": svc.webhooks.secret_for(caller.tenant_id).hex()}
