"""The AuditLog port: what every part of Baton uses to record and read what happened."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from baton.domain.audit.checkpoint import Checkpoint
from baton.domain.audit.entries import (
    AuditEntryType,
    AuditRecord,
    new_nonce,
    payload_commitment,
    record_leaf_hash,
)
from baton.domain.audit.merkle import MerkleAccumulator
from baton.domain.audit.verification import VerificationReport


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something to record: the tenant's log it goes to and what happened."""

    tenant_id: str
    entry_type: AuditEntryType
    payload: Mapping[str, Any] = field(default_factory=dict)
    actor: str | None = None
    agent_id: str | None = None
    task_id: str | None = None


def admin_action(
    tenant_id: str, actor: str | None, action: str, target: str, **details: Any
) -> AuditEvent:
    """An admin_action event: ``action`` (e.g. 'project.created') on ``target`` (an id)."""
    payload = {"action": action, "target": target, **details}
    return AuditEvent(tenant_id, AuditEntryType.ADMIN_ACTION, payload, actor=actor)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Search criteria; None means 'any'."""

    agent_id: str | None = None
    task_id: str | None = None
    entry_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, record: AuditRecord) -> bool:
        """True when ``record`` meets every criterion (the in-memory form of the query)."""
        return (
            (self.agent_id is None or record.agent_id == self.agent_id)
            and (self.task_id is None or record.task_id == self.task_id)
            and (self.entry_type is None or record.entry_type.value == self.entry_type)
            and (self.since is None or record.created_at >= self.since)
            and (self.until is None or record.created_at < self.until)
        )


@dataclass(frozen=True, slots=True)
class AuditSearch:
    """A search: criteria, page size, cursor (a seq) and order."""

    criteria: AuditFilter = field(default_factory=AuditFilter)
    limit: int = 100
    cursor: int | None = None
    newest_first: bool = True


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as read back: the record, its stored leaf hash and payload row if kept."""

    record: AuditRecord
    leaf_hash: bytes
    nonce: bytes | None
    payload: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditPage:
    """A page of entries and the cursor of the next page."""

    items: list[StoredEntry]
    next_cursor: int | None


class AuditLog(Protocol):
    """Append, search and verify a tenant's tamper-evident log."""

    async def append(self, event: AuditEvent) -> AuditRecord:
        """Record one event; returns the record with its seq."""
        ...

    async def search(self, tenant_id: str, query: AuditSearch) -> AuditPage:
        """A page of the tenant's entries."""
        ...

    async def verify(self, tenant_id: str, trusted: Checkpoint | None = None) -> VerificationReport:
        """Check the tenant's whole log (and that it extends ``trusted``)."""
        ...


def seal_entry(
    tree: MerkleAccumulator, event: AuditEvent, payload: dict[str, Any], created_at: datetime
) -> StoredEntry:
    """Make ``event`` the next entry of the log whose Merkle frontier is ``tree``.

    Commits the payload under a fresh nonce, hashes the record into its leaf and appends
    the leaf to ``tree``. The database-backed log and the in-memory fake both seal entries
    here, so they cannot disagree on what a leaf is.
    """
    nonce = new_nonce()
    record = AuditRecord(
        tenant_id=event.tenant_id,
        seq=tree.size,
        entry_type=AuditEntryType(event.entry_type),
        created_at=created_at,
        actor=event.actor,
        agent_id=event.agent_id,
        task_id=event.task_id,
        payload_hash=payload_commitment(nonce, payload),
    )
    leaf = record_leaf_hash(record)
    tree.append(leaf)
    return StoredEntry(record, leaf, nonce, payload)


def entry_json(entry: StoredEntry) -> dict[str, Any]:
    """The public JSON form of a stored entry."""
    r = entry.record
    return {
        "seq": r.seq,
        "type": r.entry_type.value,
        "created_at": r.created_at.isoformat(),
        "actor": r.actor,
        "agent_id": r.agent_id,
        "task_id": r.task_id,
        "payload_hash": r.payload_hash.hex(),
        "payload": entry.payload,
        "nonce": entry.nonce.hex() if entry.nonce is not None else None,
        "expired": entry.payload is None,
    }
