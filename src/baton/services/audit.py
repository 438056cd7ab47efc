"""The audit log service.

Append (alone or inside another use case's transaction), search, verify, export with
proofs, signed checkpoints and retention.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from baton.domain.audit import (
    AuditEntryType,
    AuditRecord,
    Checkpoint,
    CheckpointSigner,
    LogVerifier,
    MerkleAccumulator,
    VerificationReport,
    new_nonce,
    payload_commitment,
    record_leaf_hash,
)
from baton.domain.audit.log import (
    AuditEvent,
    AuditPage,
    AuditSearch,
    admin_action,
    entry_json,
)
from baton.domain.audit.tree import MerkleTree
from baton.domain.errors import InvalidInput
from baton.store.audit import Policy, UnreadableEntry
from baton.store.columns import utcnow
from baton.store.database import Database
from baton.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 256 * 1024


def _plain_json(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the JSON column will give back, so the stored payload is the hashed payload."""
    text = json.dumps(payload, default=str, allow_nan=False)
    if len(text) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"audit payload over {MAX_PAYLOAD_BYTES} bytes")
    value: dict[str, Any] = json.loads(text)
    return value


class AuditService:
    """The AuditLog port over the database, with an Ed25519 checkpoint signer."""

    def __init__(
        self,
        db: Database,
        signer: CheckpointSigner,
        *,
        checkpoint_every: int = 1000,
        checkpoint_interval: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self.signer = signer
        self._every = checkpoint_every
        self._interval = checkpoint_interval
        self._clock = clock

    async def append(self, event: AuditEvent) -> AuditRecord:
        """Append one entry in its own transaction."""
        async with self._db.transaction() as uow:
            (record,) = await self.append_in(uow, [event])
        return record

    async def append_in(self, uow: UnitOfWork, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Append entries inside the caller's transaction: they commit or vanish with it."""
        by_tenant: dict[str, list[AuditEvent]] = {}
        for event in events:
            by_tenant.setdefault(event.tenant_id, []).append(event)
        records: list[AuditRecord] = []
        # A fixed lock order keeps two multi-tenant appenders from deadlocking.
        for tenant_id in sorted(by_tenant):
            records += await self._append_tenant(uow, tenant_id, by_tenant[tenant_id])
        return records

    async def _append_tenant(
        self, uow: UnitOfWork, tenant_id: str, events: list[AuditEvent]
    ) -> list[AuditRecord]:
        head = await uow.audit.lock_head(tenant_id)
        tree = MerkleAccumulator(head.size, head.frontier)
        now = self._clock()
        if head.last_created_at is not None and now < head.last_created_at:
            now = head.last_created_at  # times never go backwards within a log
        rows = []
        records = []
        for event in events:
            payload = _plain_json(event.payload)
            nonce = new_nonce()
            record = AuditRecord(
                tenant_id=tenant_id,
                seq=tree.size,
                entry_type=AuditEntryType(event.entry_type),
                created_at=now,
                actor=event.actor,
                agent_id=event.agent_id,
                task_id=event.task_id,
                payload_hash=payload_commitment(nonce, payload),
            )
            leaf = record_leaf_hash(record)
            tree.append(leaf)
            rows.append((record, leaf, nonce, payload))
            records.append(record)
        await uow.audit.insert_entries(rows)
        head.size, head.frontier, head.last_created_at = tree.size, list(tree.frontier), now
        if self._checkpoint_due(head.size, head.checkpoint_size, head.checkpoint_at, now):
            await uow.audit.insert_checkpoint(
                self.signer.sign(tenant_id, tree.size, tree.root(), now)
            )
            head.checkpoint_size, head.checkpoint_at = tree.size, now
        await uow.audit.save_head(head)
        return records

    def _checkpoint_due(
        self, size: int, signed_size: int, signed_at: datetime | None, now: datetime
    ) -> bool:
        if size <= signed_size:
            return False
        return (
            size - signed_size >= self._every
            or signed_at is None
            or now - signed_at >= self._interval
        )

    async def sign_due_checkpoints(self) -> int:
        """Sign a checkpoint for every log that grew and has none newer than the interval."""
        now = self._clock()
        async with self._db.transaction(write=False) as uow:
            heads = await uow.audit.heads()
        signed = 0
        for candidate in heads:
            if candidate.size <= candidate.checkpoint_size:
                continue
            async with self._db.transaction() as uow:
                head = await uow.audit.lock_head(candidate.tenant_id)
                if not self._checkpoint_due(
                    head.size, head.checkpoint_size, head.checkpoint_at, now
                ):
                    continue
                tree = MerkleAccumulator(head.size, head.frontier)
                await uow.audit.insert_checkpoint(
                    self.signer.sign(head.tenant_id, head.size, tree.root(), now)
                )
                head.checkpoint_size, head.checkpoint_at = head.size, now
                await uow.audit.save_head(head)
                signed += 1
        return signed

    async def search(self, tenant_id: str, query: AuditSearch) -> AuditPage:
        """A page of the tenant's entries matching the query."""
        async with self._db.transaction(write=False) as uow:
            items = await uow.audit.search(
                tenant_id,
                query.criteria,
                limit=query.limit + 1,
                after_seq=query.cursor,
                newest_first=query.newest_first,
            )
        more = len(items) > query.limit
        items = items[: query.limit]
        return AuditPage(items, items[-1].record.seq if more and items else None)

    async def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """Every checkpoint of the tenant, oldest first."""
        async with self._db.transaction(write=False) as uow:
            return await uow.audit.checkpoints(tenant_id)

    async def policy(self, tenant_id: str) -> Policy:
        """The tenant's retention policy."""
        async with self._db.transaction(write=False) as uow:
            return await uow.audit.policy(tenant_id)

    async def verify(self, tenant_id: str, trusted: Checkpoint | None = None) -> VerificationReport:
        """Re-check the whole log of a tenant in one pass: seqs, leaves, payloads, checkpoints.

        ``trusted`` is a checkpoint the user kept elsewhere; the log must still extend it,
        which catches a rollback or a rewrite even if every hash was recomputed.
        """
        if trusted is not None and trusted.tenant_id != tenant_id:
            raise InvalidInput("the supplied checkpoint belongs to another tenant")
        async with self._db.transaction(write=False) as uow:
            policy = await uow.audit.policy(tenant_id)
            checkpoints = await uow.audit.checkpoints(tenant_id)
            verifier = LogVerifier(
                tenant_id,
                self.signer.public_key,
                checkpoints=checkpoints,
                trusted_checkpoint=trusted,
                retention_watermark=policy.watermark,
            )
            async for entry in uow.audit.stream(tenant_id):
                if isinstance(entry, UnreadableEntry):
                    verifier.reject_entry(entry.reason)
                    break
                payload = (entry.nonce, entry.payload) if entry.nonce is not None else None
                if not verifier.feed(entry.record, payload, entry.leaf_hash):
                    break
            heads = [h for h in await uow.audit.heads() if h.tenant_id == tenant_id]
        return _against_head(verifier.finish(), heads[0].size if heads else 0, len(checkpoints))

    async def set_retention(self, tenant_id: str, days: int | None, actor: str | None) -> Policy:
        """Set the tenant's retention period (None keeps everything), audited."""
        async with self._db.transaction() as uow:
            await uow.audit.set_retention(tenant_id, days)
            await self.append_in(
                uow,
                [admin_action(tenant_id, actor, "audit.retention_set", tenant_id, days=days)],
            )
            return await uow.audit.policy(tenant_id)

    async def run_retention(self) -> dict[str, int]:
        """Delete payloads older than each tenant's policy; record each run in the log."""
        now = self._clock()
        async with self._db.transaction(write=False) as uow:
            policies = await uow.audit.policies()
        deleted: dict[str, int] = {}
        for policy in policies:
            assert policy.retention_days is not None
            cutoff = now - timedelta(days=policy.retention_days)
            async with self._db.transaction() as uow:
                # The head lock serialises this run with appends and with other processes'
                # retention runs; the policy is read again under it.
                await uow.audit.lock_head(policy.tenant_id)
                current = await uow.audit.policy(policy.tenant_id)
                below = await uow.audit.first_seq_at_or_after(policy.tenant_id, cutoff)
                if below <= current.watermark:
                    continue
                count = await uow.audit.expire_payloads(policy.tenant_id, below, now)
                await self.append_in(
                    uow,
                    [
                        admin_action(
                            policy.tenant_id,
                            "retention",
                            "audit.retention_run",
                            policy.tenant_id,
                            payloads_deleted=count,
                            below_seq=below,
                            cutoff=cutoff.isoformat(),
                        )
                    ],
                )
            deleted[policy.tenant_id] = count
            log.info(
                "audit retention: %s payloads deleted", count, extra={"tenant": policy.tenant_id}
            )
        return deleted

    async def export(
        self, tenant_id: str, *, since: datetime | None, until: datetime | None
    ) -> AsyncIterator[dict[str, Any]]:
        """Entries in a time range as JSON objects, each with its inclusion proof.

        Proofs are against the newest checkpoint; entries after it carry no proof yet.
        """
        async with self._db.transaction(write=False) as uow:
            checkpoints = await uow.audit.checkpoints(tenant_id)
            anchor = checkpoints[-1] if checkpoints else None
            tree = (
                MerkleTree(await uow.audit.leaf_hashes(tenant_id, anchor.size)) if anchor else None
            )
            if anchor is not None:
                yield {"checkpoint": anchor.to_json()}
            async for entry in uow.audit.stream(tenant_id):
                if isinstance(entry, UnreadableEntry):
                    yield {"seq": entry.seq, "error": entry.reason}
                    continue
                created = entry.record.created_at
                if (since and created < since) or (until and created >= until):
                    continue
                doc = entry_json(entry)
                if tree is not None and anchor is not None and entry.record.seq < anchor.size:
                    doc["proof"] = {
                        "checkpoint_size": anchor.size,
                        "leaf_hash": entry.leaf_hash.hex(),
                        "path": [h.hex() for h in tree.inclusion_proof(entry.record.seq)],
                    }
                yield doc


def _against_head(
    report: VerificationReport, recorded: int, checkpoints: int
) -> VerificationReport:
    """Checks the entries alone cannot make: the head's count, and that a signature exists.

    The first append to a log always signs a checkpoint, so a non-empty log without one
    has had its checkpoints removed.
    """
    if not report.valid:
        return report
    if report.checked < recorded:
        reason = f"entries missing at the tail: the log head records {recorded} entries"
        return dataclasses.replace(
            report, valid=False, first_invalid_seq=report.checked, reason=reason
        )
    if report.checked > recorded:
        reason = f"entries beyond the log head, which records {recorded} entries"
        return dataclasses.replace(report, valid=False, first_invalid_seq=recorded, reason=reason)
    if recorded > 0 and checkpoints == 0:
        return dataclasses.replace(
            report, valid=False, reason="no signed checkpoint exists for a non-empty log"
        )
    return report
