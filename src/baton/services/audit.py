"""The audit log service.

Append (alone or inside another use case's transaction), search, verify, export with
proofs, signed checkpoints and retention.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection

from baton.domain.audit import (
    AuditRecord,
    Checkpoint,
    CheckpointSigner,
    LogVerifier,
    MerkleAccumulator,
    VerificationReport,
)
from baton.domain.audit.log import (
    AuditEvent,
    AuditPage,
    AuditSearch,
    StoredEntry,
    admin_action,
    entry_json,
    seal_entry,
)
from baton.domain.audit.tree import MerkleTree
from baton.domain.errors import InvalidInput
from baton.queue.batcher import Batcher
from baton.store.audit import AuditRepository, Policy, UnreadableEntry
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
        self._appender: Batcher[AuditEvent, AuditRecord] = Batcher(self._append_batch, isolate=True)

    async def append(self, event: AuditEvent) -> AuditRecord:
        """Append one entry; it is committed when this returns.

        Appends that arrive together (many tasks running at once) share one write: one
        head update per tenant and one multi-row insert instead of one of each per entry.
        """
        record = await self._appender.submit(event)
        assert record is not None
        return record

    async def _append_batch(self, events: list[AuditEvent]) -> list[AuditRecord]:
        return await self._db.run(lambda conn: self.append_sync(conn, events))

    async def append_in(self, uow: UnitOfWork, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Append entries inside the caller's async unit of work: they commit or vanish with it."""
        return await uow.session.run_sync(
            lambda session: self.append_sync(session.connection(), events)
        )

    def append_sync(self, conn: Connection, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Append entries inside the caller's (synchronous) transaction.

        Hot paths such as the task queue call this from their own ``Database.run``
        function so that a state change and its audit entries commit together.
        """
        by_tenant: dict[str, list[AuditEvent]] = {}
        for event in events:
            by_tenant.setdefault(event.tenant_id, []).append(event)
        repo = AuditRepository(conn)
        records: list[AuditRecord] = []
        # A fixed lock order keeps two multi-tenant appenders from deadlocking.
        for tenant_id in sorted(by_tenant):
            records += self._append_tenant(repo, tenant_id, by_tenant[tenant_id])
        return records

    def _append_tenant(
        self, repo: AuditRepository, tenant_id: str, events: list[AuditEvent]
    ) -> list[AuditRecord]:
        head = repo.lock_head(tenant_id)
        tree = MerkleAccumulator(head.size, head.frontier)
        now = self._clock()
        if head.last_created_at is not None and now < head.last_created_at:
            now = head.last_created_at  # times never go backwards within a log
        sealed = [seal_entry(tree, e, _plain_json(e.payload), now) for e in events]
        repo.insert_entries(sealed)
        head.size, head.frontier, head.last_created_at = tree.size, list(tree.frontier), now
        if self._checkpoint_due(head.size, head.checkpoint_size, head.checkpoint_at, now):
            repo.insert_checkpoint(self.signer.sign(tenant_id, tree.size, tree.root(), now))
            head.checkpoint_size, head.checkpoint_at = tree.size, now
        repo.save_head(head)
        return [entry.record for entry in sealed]

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
        heads = await self._db.run(lambda c: AuditRepository(c).heads(), write=False)
        signed = 0
        for candidate in heads:
            if candidate.size > candidate.checkpoint_size:
                sign = partial(self._sign_if_due, tenant_id=candidate.tenant_id, now=now)
                signed += await self._db.run(sign)
        return signed

    def _sign_if_due(self, conn: Connection, *, tenant_id: str, now: datetime) -> bool:
        repo = AuditRepository(conn)
        head = repo.lock_head(tenant_id)
        if not self._checkpoint_due(head.size, head.checkpoint_size, head.checkpoint_at, now):
            return False
        tree = MerkleAccumulator(head.size, head.frontier)
        repo.insert_checkpoint(self.signer.sign(tenant_id, head.size, tree.root(), now))
        head.checkpoint_size, head.checkpoint_at = head.size, now
        repo.save_head(head)
        return True

    async def search(self, tenant_id: str, query: AuditSearch) -> AuditPage:
        """A page of the tenant's entries matching the query."""

        def read(conn: Connection) -> list[StoredEntry]:
            return AuditRepository(conn).search(
                tenant_id,
                query.criteria,
                limit=query.limit + 1,
                after_seq=query.cursor,
                newest_first=query.newest_first,
            )

        items = await self._db.run(read, write=False)
        more = len(items) > query.limit
        items = items[: query.limit]
        return AuditPage(items, items[-1].record.seq if more and items else None)

    async def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """Every checkpoint of the tenant, oldest first."""
        return await self._db.run(lambda c: AuditRepository(c).checkpoints(tenant_id), write=False)

    async def policy(self, tenant_id: str) -> Policy:
        """The tenant's retention policy."""
        return await self._db.run(lambda c: AuditRepository(c).policy(tenant_id), write=False)

    async def verify(self, tenant_id: str, trusted: Checkpoint | None = None) -> VerificationReport:
        """Re-check the whole log of a tenant in one pass: seqs, leaves, payloads, checkpoints.

        ``trusted`` is a checkpoint the user kept elsewhere; the log must still extend it,
        which catches a rollback or a rewrite even if every hash was recomputed. The work
        runs off the event loop, inside one read transaction (a consistent snapshot).
        """
        if trusted is not None and trusted.tenant_id != tenant_id:
            raise InvalidInput("the supplied checkpoint belongs to another tenant")
        return await self._db.run(lambda c: self._verify(c, tenant_id, trusted), write=False)

    def _verify(
        self, conn: Connection, tenant_id: str, trusted: Checkpoint | None
    ) -> VerificationReport:
        repo = AuditRepository(conn)
        checkpoints = repo.checkpoints(tenant_id)
        verifier = LogVerifier(
            tenant_id,
            self.signer.public_key,
            checkpoints=checkpoints,
            trusted_checkpoint=trusted,
            retention_watermark=repo.policy(tenant_id).watermark,
        )
        for entry in repo.stream(tenant_id):
            if isinstance(entry, UnreadableEntry):
                verifier.reject_entry(entry.reason)
                break
            payload = (entry.nonce, entry.payload) if entry.nonce is not None else None
            if not verifier.feed(entry.record, payload, entry.leaf_hash):
                break
        heads = [h for h in repo.heads() if h.tenant_id == tenant_id]
        return _against_head(verifier.finish(), heads[0].size if heads else 0, len(checkpoints))

    async def set_retention(self, tenant_id: str, days: int | None, actor: str | None) -> Policy:
        """Set the tenant's retention period (None keeps everything), audited."""

        def write(conn: Connection) -> Policy:
            repo = AuditRepository(conn)
            repo.set_retention(tenant_id, days)
            event = admin_action(tenant_id, actor, "audit.retention_set", tenant_id, days=days)
            self.append_sync(conn, [event])
            return repo.policy(tenant_id)

        return await self._db.run(write)

    async def run_retention(self) -> dict[str, int]:
        """Delete payloads older than each tenant's policy; record each run in the log."""
        now = self._clock()
        policies = await self._db.run(lambda c: AuditRepository(c).policies(), write=False)
        deleted: dict[str, int] = {}
        for policy in policies:
            assert policy.retention_days is not None
            cutoff = now - timedelta(days=policy.retention_days)
            tenant = policy.tenant_id
            count = await self._db.run(
                partial(self._expire, tenant_id=tenant, cutoff=cutoff, now=now)
            )
            if count is not None:
                deleted[tenant] = count
                log.info("audit retention: %s payloads deleted", count, extra={"tenant": tenant})
        return deleted

    def _expire(
        self, conn: Connection, tenant_id: str, cutoff: datetime, now: datetime
    ) -> int | None:
        repo = AuditRepository(conn)
        # The head lock serialises this run with appends and with other processes'
        # retention runs; the policy is read again under it.
        repo.lock_head(tenant_id)
        current = repo.policy(tenant_id)
        below = repo.first_seq_at_or_after(tenant_id, cutoff)
        if below <= current.watermark:
            return None
        count = repo.expire_payloads(tenant_id, below, now)
        event = admin_action(
            tenant_id,
            "retention",
            "audit.retention_run",
            tenant_id,
            payloads_deleted=count,
            below_seq=below,
            cutoff=cutoff.isoformat(),
        )
        self.append_sync(conn, [event])
        return count

    async def export(
        self, tenant_id: str, *, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]:
        """Entries in a time range as JSON objects, each with its inclusion proof.

        Proofs are against the newest checkpoint; entries after it carry no proof yet. The
        first object names that checkpoint.
        """
        return await self._db.run(lambda c: self._export(c, tenant_id, since, until), write=False)

    def _export(
        self, conn: Connection, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]:
        repo = AuditRepository(conn)
        checkpoints = repo.checkpoints(tenant_id)
        anchor = checkpoints[-1] if checkpoints else None
        docs: list[dict[str, Any]] = []
        tree = None
        if anchor is not None:
            tree = MerkleTree(repo.leaf_hashes(tenant_id, anchor.size))
            docs.append({"checkpoint": anchor.to_json()})
        for entry in repo.stream(tenant_id):
            if isinstance(entry, UnreadableEntry):
                docs.append({"seq": entry.seq, "error": entry.reason})
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
            docs.append(doc)
        return docs


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
