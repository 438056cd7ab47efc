"""The audit log's tables: append under the tenant's head lock, read back in seq order."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from baton.domain.audit import AuditEntryType, AuditRecord, Checkpoint
from baton.domain.audit.log import AuditFilter, StoredEntry
from baton.domain.ids import new_id
from baton.store.direct import DirectStatement
from baton.store.tables import (
    AuditCheckpointRow,
    AuditEntryRow,
    AuditHeadRow,
    AuditPayloadRow,
    AuditPolicyRow,
    AuditRetentionGateRow,
    Base,
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


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        tenant_id=row.tenant_id,
        size=row.size,
        root=bytes.fromhex(row.root),
        created_at=row.created_at,
        key_id=row.key_id,
        signature=base64.b64decode(row.signature),
    )


_H = AuditHeadRow
# The append path's statements run on the driver's cursor (store/direct.py): every task
# transition appends, and Core's per-statement machinery cost more than SQLite's work.
# FOR UPDATE renders on PostgreSQL only; on SQLite BEGIN IMMEDIATE already serialises.
_SELECT_HEAD_LOCKED = DirectStatement(
    select(_H.size, _H.frontier, _H.last_created_at, _H.checkpoint_size, _H.checkpoint_at)
    .where(_H.tenant_id == bindparam("tenant_id"))
    .with_for_update()
)
_UPDATE_HEAD = DirectStatement(
    update(_H)
    .where(_H.tenant_id == bindparam("t"))
    .values(
        size=bindparam("size"),
        frontier=bindparam("frontier", type_=_H.frontier.type),
        last_created_at=bindparam("last_created_at", type_=_H.last_created_at.type),
        checkpoint_size=bindparam("checkpoint_size"),
        checkpoint_at=bindparam("checkpoint_at", type_=_H.checkpoint_at.type),
    )
)
# Core table inserts: the ORM-enabled insert(Entity) path costs several times more.
_INSERT_ENTRY = DirectStatement(Base.metadata.tables["audit_entries"].insert())
_INSERT_PAYLOAD = DirectStatement(Base.metadata.tables["audit_payloads"].insert())


class AuditRepository:
    """Reads and writes the audit tables over one transaction's connection.

    Synchronous Core code: it runs on SQLite's writer thread through ``Database.run`` and
    inside an async unit of work through ``AsyncSession.run_sync``.
    """

    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._dialect = conn.dialect.name

    def _upsert_ignore(self, table: Any, values: dict[str, Any]) -> Any:
        maker = pg_insert if self._dialect == "postgresql" else sqlite_insert
        return maker(table).values(**values).on_conflict_do_nothing()

    def lock_head(self, tenant_id: str) -> Head:
        """The tenant's head, locked until the transaction ends (created when missing).

        On PostgreSQL the row lock serialises appenders of one tenant across processes;
        on SQLite the write transaction (BEGIN IMMEDIATE) already does.
        """
        params = {"tenant_id": tenant_id}
        rows = _SELECT_HEAD_LOCKED.execute(self._c, params)
        if not rows:
            self._c.execute(
                self._upsert_ignore(
                    AuditHeadRow,
                    {"tenant_id": tenant_id, "size": 0, "frontier": [], "checkpoint_size": 0},
                )
            )
            rows = _SELECT_HEAD_LOCKED.execute(self._c, params)
        size, frontier, last_created_at, checkpoint_size, checkpoint_at = rows[0]
        return Head(
            tenant_id=tenant_id,
            size=size,
            frontier=[bytes.fromhex(x) for x in frontier],
            last_created_at=last_created_at,
            checkpoint_size=checkpoint_size,
            checkpoint_at=checkpoint_at,
        )

    def save_head(self, head: Head) -> None:
        """Write the head back (same transaction as the entries it describes)."""
        _UPDATE_HEAD.execute(
            self._c,
            {
                "t": head.tenant_id,
                "size": head.size,
                "frontier": [x.hex() for x in head.frontier],
                "last_created_at": head.last_created_at,
                "checkpoint_size": head.checkpoint_size,
                "checkpoint_at": head.checkpoint_at,
            },
        )

    def insert_entries(self, entries: Sequence[StoredEntry]) -> None:
        """Insert freshly sealed entries with their payloads."""
        if not entries:
            return
        entry_rows = []
        payload_rows = []
        for e in entries:
            r = e.record
            if e.nonce is None or e.payload is None:
                raise ValueError(f"entry {r.seq} has no payload: only sealed entries go in")
            entry_rows.append(
                {
                    "tenant_id": r.tenant_id,
                    "seq": r.seq,
                    "entry_type": r.entry_type.value,
                    "created_at": r.created_at,
                    "actor": r.actor,
                    "agent_id": r.agent_id,
                    "task_id": r.task_id,
                    "payload_hash": r.payload_hash.hex(),
                    "leaf_hash": e.leaf_hash.hex(),
                }
            )
            payload_rows.append(
                {
                    "tenant_id": r.tenant_id,
                    "seq": r.seq,
                    "nonce": e.nonce.hex(),
                    "payload": e.payload,
                }
            )
        _INSERT_ENTRY.execute_many(self._c, entry_rows)
        _INSERT_PAYLOAD.execute_many(self._c, payload_rows)

    def insert_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store a signed checkpoint."""
        self._c.execute(
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

    def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """Every stored checkpoint of the tenant, oldest first."""
        c = AuditCheckpointRow
        query = (
            select(c.tenant_id, c.size, c.root, c.created_at, c.key_id, c.signature)
            .where(c.tenant_id == tenant_id)
            .order_by(c.size, c.created_at)
        )
        return [_checkpoint(r) for r in self._c.execute(query)]

    def _joined(self, tenant_id: str) -> Select[*tuple[Any, ...]]:
        e = AuditEntryRow
        return (
            select(
                e.tenant_id,
                e.seq,
                e.entry_type,
                e.created_at,
                e.actor,
                e.agent_id,
                e.task_id,
                e.payload_hash,
                e.leaf_hash,
                AuditPayloadRow.nonce,
                AuditPayloadRow.payload,
            )
            .outerjoin(
                AuditPayloadRow,
                (AuditPayloadRow.tenant_id == e.tenant_id) & (AuditPayloadRow.seq == e.seq),
            )
            .where(e.tenant_id == tenant_id)
        )

    @staticmethod
    def _stored(row: Any) -> StoredEntry:
        return StoredEntry(
            record=_record(row),
            leaf_hash=bytes.fromhex(row.leaf_hash),
            nonce=bytes.fromhex(row.nonce) if row.nonce is not None else None,
            payload=row.payload,
        )

    def search(
        self,
        tenant_id: str,
        criteria: AuditFilter,
        *,
        limit: int,
        after_seq: int | None,
        newest_first: bool,
    ) -> list[StoredEntry]:
        """Entries matching the criteria, a page at a time by seq."""
        e = AuditEntryRow
        query = self._joined(tenant_id)
        if criteria.agent_id is not None:
            query = query.where(e.agent_id == criteria.agent_id)
        if criteria.task_id is not None:
            query = query.where(e.task_id == criteria.task_id)
        if criteria.entry_type is not None:
            query = query.where(e.entry_type == criteria.entry_type)
        if criteria.since is not None:
            query = query.where(e.created_at >= criteria.since)
        if criteria.until is not None:
            query = query.where(e.created_at < criteria.until)
        if after_seq is not None:
            query = query.where(e.seq < after_seq if newest_first else e.seq > after_seq)
        order = e.seq.desc() if newest_first else e.seq.asc()
        return [self._stored(r) for r in self._c.execute(query.order_by(order).limit(limit))]

    def stream(
        self, tenant_id: str, *, batch: int = 2000
    ) -> Iterator[StoredEntry | UnreadableEntry]:
        """Every entry of the tenant in seq order, read in batches (keyset by seq)."""
        last = -1
        while True:
            query = self._joined(tenant_id).where(AuditEntryRow.seq > last)
            rows = self._c.execute(query.order_by(AuditEntryRow.seq).limit(batch)).all()
            for row in rows:
                try:
                    yield self._stored(row)
                except ValueError as exc:
                    yield UnreadableEntry(row.seq, f"unreadable entry: {exc}")
            if len(rows) < batch:
                return
            last = rows[-1].seq

    def leaf_hashes(self, tenant_id: str, size: int) -> list[bytes]:
        """The stored leaf hashes of the first ``size`` entries, in seq order."""
        query = (
            select(AuditEntryRow.leaf_hash)
            .where(AuditEntryRow.tenant_id == tenant_id, AuditEntryRow.seq < size)
            .order_by(AuditEntryRow.seq)
        )
        return [bytes.fromhex(x) for x in self._c.execute(query).scalars()]

    def heads(self) -> list[Head]:
        """Every tenant's head (unlocked), for the periodic jobs."""
        h = AuditHeadRow
        query = select(h.tenant_id, h.size, h.last_created_at, h.checkpoint_size, h.checkpoint_at)
        return [
            Head(r.tenant_id, r.size, [], r.last_created_at, r.checkpoint_size, r.checkpoint_at)
            for r in self._c.execute(query)
        ]

    def _policies(self, *conditions: Any) -> list[Policy]:
        p = AuditPolicyRow
        query = select(p.tenant_id, p.retention_days, p.watermark, p.expired, p.last_run_at).where(
            *conditions
        )
        return [
            Policy(r.tenant_id, r.retention_days, r.watermark, r.expired, r.last_run_at)
            for r in self._c.execute(query)
        ]

    def policy(self, tenant_id: str) -> Policy:
        """The tenant's retention policy (no policy: keep everything)."""
        found = self._policies(AuditPolicyRow.tenant_id == tenant_id)
        return found[0] if found else Policy(tenant_id, None, 0, 0, None)

    def policies(self) -> list[Policy]:
        """Every tenant that has a retention period set."""
        return self._policies(AuditPolicyRow.retention_days.is_not(None))

    def set_retention(self, tenant_id: str, days: int | None) -> None:
        """Set (or clear, with None) the retention period in days."""
        self._c.execute(
            self._upsert_ignore(AuditPolicyRow, {"tenant_id": tenant_id, "watermark": 0})
        )
        self._c.execute(
            update(AuditPolicyRow)
            .where(AuditPolicyRow.tenant_id == tenant_id)
            .values(retention_days=days)
        )

    def first_seq_at_or_after(self, tenant_id: str, moment: datetime) -> int:
        """The seq of the first entry created at or after ``moment`` (the size if none)."""
        e = AuditEntryRow
        query = select(func.min(e.seq)).where(e.tenant_id == tenant_id, e.created_at >= moment)
        found = self._c.execute(query).scalar()
        if found is not None:
            return int(found)
        total = self._c.execute(select(func.count()).where(e.tenant_id == tenant_id))
        return int(total.scalar_one())

    def expire_payloads(self, tenant_id: str, below_seq: int, when: datetime) -> int:
        """Delete payloads with seq below ``below_seq`` through the retention gate.

        Returns how many were deleted; moves the watermark. The gate row exists only
        inside this transaction, so no other session can delete through it.
        """
        self._c.execute(insert(AuditRetentionGateRow).values(id=1))
        result = self._c.execute(
            delete(AuditPayloadRow).where(
                AuditPayloadRow.tenant_id == tenant_id, AuditPayloadRow.seq < below_seq
            )
        )
        self._c.execute(delete(AuditRetentionGateRow))
        deleted = int(result.rowcount or 0)
        policy = self.policy(tenant_id)
        self._c.execute(
            update(AuditPolicyRow)
            .where(AuditPolicyRow.tenant_id == tenant_id)
            .values(
                watermark=max(policy.watermark, below_seq),
                expired=policy.expired + deleted,
                last_run_at=when,
            )
        )
        return deleted
