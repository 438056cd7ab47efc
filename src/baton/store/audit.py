"""The audit log's tables: append under the tenant's head lock, read back in seq order."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from baton.domain.audit import AuditEntryType, AuditRecord, Checkpoint
from baton.domain.audit.log import AuditFilter, StoredEntry
from baton.domain.ids import new_id
from baton.store.tables import (
    AuditCheckpointRow,
    AuditEntryRow,
    AuditHeadRow,
    AuditPayloadRow,
    AuditPolicyRow,
    AuditRetentionGateRow,
)


@dataclass(slots=True)
class Head:
    """A tenant log's tip: size, Merkle frontier and checkpoint bookkeeping."""

    tenant_id: str
    size: int
    frontier: list[bytes]
    last_created_at: datetime | None
    checkpoint_size: int
    checkpoint_at: datetime | None


@dataclass(frozen=True, slots=True)
class UnreadableEntry:
    """A row that no longer forms a valid record (tampered beyond parsing)."""

    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A tenant's retention policy and progress."""

    tenant_id: str
    retention_days: int | None
    watermark: int
    expired: int
    last_run_at: datetime | None


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        tenant_id=row.tenant_id,
        seq=row.seq,
        entry_type=AuditEntryType(row.entry_type),
        created_at=row.created_at,
        actor=row.actor,
        agent_id=row.agent_id,
        task_id=row.task_id,
        payload_hash=bytes.fromhex(row.payload_hash),
    )


def _checkpoint(row: AuditCheckpointRow) -> Checkpoint:
    return Checkpoint(
        tenant_id=row.tenant_id,
        size=row.size,
        root=bytes.fromhex(row.root),
        created_at=row.created_at,
        key_id=row.key_id,
        signature=base64.b64decode(row.signature),
    )


class AuditRepository:
    """Reads and writes the audit tables inside one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session
        self._dialect = session.bind.dialect.name if session.bind else "sqlite"

    def _upsert_ignore(self, table: Any, values: dict[str, Any]) -> Any:
        maker = pg_insert if self._dialect == "postgresql" else sqlite_insert
        return maker(table).values(**values).on_conflict_do_nothing()

    async def lock_head(self, tenant_id: str) -> Head:
        """The tenant's head, locked until the transaction ends (created when missing).

        On PostgreSQL the row lock serialises appenders of one tenant across processes;
        on SQLite the write transaction (BEGIN IMMEDIATE) already does.
        """
        query = select(AuditHeadRow).where(AuditHeadRow.tenant_id == tenant_id)
        if self._dialect == "postgresql":
            query = query.with_for_update()
        row = (await self._s.execute(query)).scalar()
        if row is None:
            await self._s.execute(
                self._upsert_ignore(
                    AuditHeadRow,
                    {"tenant_id": tenant_id, "size": 0, "frontier": [], "checkpoint_size": 0},
                )
            )
            row = (await self._s.execute(query)).scalar_one()
        await self._s.refresh(row)
        return Head(
            tenant_id=tenant_id,
            size=row.size,
            frontier=[bytes.fromhex(h) for h in row.frontier],
            last_created_at=row.last_created_at,
            checkpoint_size=row.checkpoint_size,
            checkpoint_at=row.checkpoint_at,
        )

    async def save_head(self, head: Head) -> None:
        """Write the head back (same transaction as the entries it describes)."""
        await self._s.execute(
            update(AuditHeadRow)
            .where(AuditHeadRow.tenant_id == head.tenant_id)
            .values(
                size=head.size,
                frontier=[h.hex() for h in head.frontier],
                last_created_at=head.last_created_at,
                checkpoint_size=head.checkpoint_size,
                checkpoint_at=head.checkpoint_at,
            )
        )

    async def insert_entries(
        self, entries: Sequence[tuple[AuditRecord, bytes, bytes, dict[str, Any]]]
    ) -> None:
        """Insert (record, leaf hash, nonce, payload) tuples."""
        if not entries:
            return
        await self._s.execute(
            insert(AuditEntryRow),
            [
                {
                    "tenant_id": r.tenant_id,
                    "seq": r.seq,
                    "entry_type": r.entry_type.value,
                    "created_at": r.created_at,
                    "actor": r.actor,
                    "agent_id": r.agent_id,
                    "task_id": r.task_id,
                    "payload_hash": r.payload_hash.hex(),
                    "leaf_hash": leaf.hex(),
                }
                for r, leaf, _, _ in entries
            ],
        )
        await self._s.execute(
            insert(AuditPayloadRow),
            [
                {"tenant_id": r.tenant_id, "seq": r.seq, "nonce": nonce.hex(), "payload": payload}
                for r, _, nonce, payload in entries
            ],
        )

    async def insert_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store a signed checkpoint."""
        await self._s.execute(
            insert(AuditCheckpointRow).values(
                id=new_id(),
                tenant_id=checkpoint.tenant_id,
                size=checkpoint.size,
                root=checkpoint.root.hex(),
                created_at=checkpoint.created_at,
                key_id=checkpoint.key_id,
                signature=base64.b64encode(checkpoint.signature).decode("ascii"),
            )
        )

    async def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """Every stored checkpoint of the tenant, oldest first."""
        query = (
            select(AuditCheckpointRow)
            .where(AuditCheckpointRow.tenant_id == tenant_id)
            .order_by(AuditCheckpointRow.size, AuditCheckpointRow.created_at)
        )
        return [_checkpoint(r) for r in (await self._s.execute(query)).scalars()]

    def _joined(self, tenant_id: str) -> Select[Any]:
        return (
            select(AuditEntryRow, AuditPayloadRow.nonce, AuditPayloadRow.payload)
            .outerjoin(
                AuditPayloadRow,
                (AuditPayloadRow.tenant_id == AuditEntryRow.tenant_id)
                & (AuditPayloadRow.seq == AuditEntryRow.seq),
            )
            .where(AuditEntryRow.tenant_id == tenant_id)
        )

    @staticmethod
    def _stored(row: Any) -> StoredEntry:
        entry = row[0]
        return StoredEntry(
            record=_record(entry),
            leaf_hash=bytes.fromhex(entry.leaf_hash),
            nonce=bytes.fromhex(row.nonce) if row.nonce is not None else None,
            payload=row.payload,
        )

    async def search(
        self,
        tenant_id: str,
        criteria: AuditFilter,
        *,
        limit: int,
        after_seq: int | None,
        newest_first: bool,
    ) -> list[StoredEntry]:
        """Entries matching the criteria, a page at a time by seq."""
        query = self._joined(tenant_id)
        if criteria.agent_id is not None:
            query = query.where(AuditEntryRow.agent_id == criteria.agent_id)
        if criteria.task_id is not None:
            query = query.where(AuditEntryRow.task_id == criteria.task_id)
        if criteria.entry_type is not None:
            query = query.where(AuditEntryRow.entry_type == criteria.entry_type)
        if criteria.since is not None:
            query = query.where(AuditEntryRow.created_at >= criteria.since)
        if criteria.until is not None:
            query = query.where(AuditEntryRow.created_at < criteria.until)
        if after_seq is not None:
            query = query.where(
                AuditEntryRow.seq < after_seq if newest_first else AuditEntryRow.seq > after_seq
            )
        order = AuditEntryRow.seq.desc() if newest_first else AuditEntryRow.seq.asc()
        rows = await self._s.execute(query.order_by(order).limit(limit))
        return [self._stored(r) for r in rows]

    async def stream(
        self, tenant_id: str, *, batch: int = 2000
    ) -> AsyncIterator[StoredEntry | UnreadableEntry]:
        """Every entry of the tenant in seq order, read in batches (keyset by seq)."""
        last = -1
        while True:
            rows = (
                await self._s.execute(
                    self._joined(tenant_id)
                    .where(AuditEntryRow.seq > last)
                    .order_by(AuditEntryRow.seq)
                    .limit(batch)
                )
            ).all()
            for row in rows:
                try:
                    yield self._stored(row)
                except ValueError as exc:
                    yield UnreadableEntry(row[0].seq, f"unreadable entry: {exc}")
            if len(rows) < batch:
                return
            last = rows[-1][0].seq

    async def leaf_hashes(self, tenant_id: str, size: int) -> list[bytes]:
        """The stored leaf hashes of the first ``size`` entries, in seq order."""
        query = (
            select(AuditEntryRow.leaf_hash)
            .where(AuditEntryRow.tenant_id == tenant_id, AuditEntryRow.seq < size)
            .order_by(AuditEntryRow.seq)
        )
        return [bytes.fromhex(h) for h in (await self._s.execute(query)).scalars()]

    async def heads(self) -> list[Head]:
        """Every tenant's head (unlocked), for the periodic jobs."""
        rows = (await self._s.execute(select(AuditHeadRow))).scalars()
        return [
            Head(r.tenant_id, r.size, [], r.last_created_at, r.checkpoint_size, r.checkpoint_at)
            for r in rows
        ]

    async def policy(self, tenant_id: str) -> Policy:
        """The tenant's retention policy (no policy: keep everything)."""
        row = await self._s.get(AuditPolicyRow, tenant_id)
        if row is None:
            return Policy(tenant_id, None, 0, 0, None)
        return Policy(tenant_id, row.retention_days, row.watermark, row.expired, row.last_run_at)

    async def policies(self) -> list[Policy]:
        """Every tenant that has a retention period set."""
        query = select(AuditPolicyRow).where(AuditPolicyRow.retention_days.is_not(None))
        return [
            Policy(r.tenant_id, r.retention_days, r.watermark, r.expired, r.last_run_at)
            for r in (await self._s.execute(query)).scalars()
        ]

    async def set_retention(self, tenant_id: str, days: int | None) -> None:
        """Set (or clear, with None) the retention period in days."""
        await self._s.execute(
            self._upsert_ignore(AuditPolicyRow, {"tenant_id": tenant_id, "watermark": 0})
        )
        await self._s.execute(
            update(AuditPolicyRow)
            .where(AuditPolicyRow.tenant_id == tenant_id)
            .values(retention_days=days)
        )

    async def first_seq_at_or_after(self, tenant_id: str, moment: datetime) -> int:
        """The seq of the first entry created at or after ``moment`` (the size if none)."""
        query = select(func.min(AuditEntryRow.seq)).where(
            AuditEntryRow.tenant_id == tenant_id, AuditEntryRow.created_at >= moment
        )
        found = (await self._s.execute(query)).scalar()
        if found is not None:
            return int(found)
        size = await self._s.execute(
            select(func.count()).where(AuditEntryRow.tenant_id == tenant_id)
        )
        return int(size.scalar_one())

    async def expire_payloads(self, tenant_id: str, below_seq: int, when: datetime) -> int:
        """Delete payloads with seq below ``below_seq`` through the retention gate.

        Returns how many were deleted; moves the watermark. The gate row exists only
        inside this transaction, so no other session can delete through it.
        """
        await self._s.execute(insert(AuditRetentionGateRow).values(id=1))
        result = await self._s.execute(
            delete(AuditPayloadRow).where(
                AuditPayloadRow.tenant_id == tenant_id, AuditPayloadRow.seq < below_seq
            )
        )
        await self._s.execute(delete(AuditRetentionGateRow))
        deleted = int(getattr(result, "rowcount", 0) or 0)
        policy = await self.policy(tenant_id)
        await self._s.execute(
            update(AuditPolicyRow)
            .where(AuditPolicyRow.tenant_id == tenant_id)
            .values(
                watermark=max(policy.watermark, below_seq),
                expired=policy.expired + deleted,
                last_run_at=when,
            )
        )
        return deleted
