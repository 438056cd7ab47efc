"""The audit log: search, verify, checkpoints and retention."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from baton.api.deps import Caller, Limit, Svc
from baton.api.schemas import (
    AuditEntryPublic,
    CheckpointList,
    PageOut,
    RetentionPolicy,
    RetentionPublic,
    VerificationPublic,
)
from baton.domain.audit import AuditEntryType, Checkpoint, MalformedAuditData
from baton.domain.audit.log import AuditFilter, AuditSearch, entry_json
from baton.domain.errors import InvalidInput
from baton.store.audit import Policy
from baton.store.pagination import seq_cursor

router = APIRouter(prefix="/api/audit")


@router.get("", name="audit.search", response_model=PageOut[AuditEntryPublic])
async def search_audit(
    caller: Caller,
    svc: Svc,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    task_id: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[AuditEntryType | None, Query()] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    order: Literal["newest", "oldest"] = "newest",
) -> object:
    """Search the caller's tenant's log; pages by seq, newest first unless asked."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"{name} needs a timezone, e.g. 2026-01-01T00:00:00Z")
    query = AuditSearch(
        criteria=AuditFilter(agent_id, task_id, type.value if type else None, since, until),
        limit=limit,
        cursor=seq_cursor(cursor),
        newest_first=order == "newest",
    )
    page = await svc.audit.search(caller.tenant_id, query)
    cursor = str(page.next_cursor) if page.next_cursor is not None else None
    return {"items": [entry_json(e) for e in page.items], "next_cursor": cursor}


@router.get("/verify", name="audit.verify", response_model=VerificationPublic)
async def verify_audit(
    caller: Caller,
    svc: Svc,
    from_checkpoint: Annotated[
        str | None, Query(max_length=4096, description="a checkpoint you exported, as JSON")
    ] = None,
) -> object:
    """Verify the caller's tenant's log, optionally against a checkpoint kept elsewhere."""
    trusted = None
    if from_checkpoint is not None:
        try:
            trusted = Checkpoint.from_json(json.loads(from_checkpoint))
        except (ValueError, MalformedAuditData) as exc:
            raise InvalidInput(f"from_checkpoint: {exc}") from None
    return await svc.audit.verify(caller.tenant_id, trusted)


@router.get("/checkpoints", name="audit.checkpoints", response_model=CheckpointList)
async def list_checkpoints(caller: Caller, svc: Svc) -> object:
    """Every signed checkpoint of the tenant's log, to keep copies elsewhere."""
    checkpoints = await svc.audit.checkpoints(caller.tenant_id)
    signer = svc.audit.signer
    return {
        "items": [c.to_json() for c in checkpoints],
        "public_key": signer.public_key_b64,
        "key_id": signer.key_id,
    }


def _policy(policy: Policy) -> dict[str, object]:
    return {
        "audit_retention_days": policy.retention_days,
        "expired_below_seq": policy.watermark,
        "payloads_expired": policy.expired,
        "last_run_at": policy.last_run_at,
    }


@router.get("/retention", name="audit.retention_get", response_model=RetentionPublic)
async def get_retention(caller: Caller, svc: Svc) -> object:
    """The tenant's retention policy."""
    return _policy(await svc.audit.policy(caller.tenant_id))


@router.put("/retention", name="audit.retention_set", response_model=RetentionPublic)
async def set_retention(body: RetentionPolicy, caller: Caller, svc: Svc) -> object:
    """Set how many days audit payloads are kept (null: forever)."""
    policy = await svc.audit.set_retention(
        caller.tenant_id, body.audit_retention_days, caller.key_id
    )
    return _policy(policy)
