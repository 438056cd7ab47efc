"""Audit entries: their types, the record that becomes a Merkle leaf, and payload commitments."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from baton.domain.audit.canonical import canonical_json, format_timestamp
from baton.domain.audit.merkle import HASH_SIZE, leaf_hash

NONCE_SIZE = 16
LEAF_FORMAT_VERSION = 1


class AuditEntryType(StrEnum):
    """What an audit entry records."""

    PROMPT = "prompt"
    LLM_RESPONSE = "llm_response"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    RESULT = "result"
    ERROR = "error"
    STATUS_CHANGE = "status_change"
    ADMIN_ACTION = "admin_action"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """The part of an audit entry that is hashed into the tenant's Merkle tree.

    The payload itself is not in the leaf, only its salted commitment, so retention can
    delete the payload (and its nonce) while the leaf, and every root over it, stays
    verifiable.

    Attributes:
        tenant_id: Owner of the log.
        seq: 0-based position in the tenant's log; contiguous.
        entry_type: What the entry records.
        created_at: Timezone-aware time of the entry.
        actor: API key id or worker id that caused the entry, if any.
        agent_id: Agent concerned, if any.
        task_id: Task concerned, if any.
        payload_hash: :func:`payload_commitment` of the payload, 32 bytes.
    """

    tenant_id: str
    seq: int
    entry_type: AuditEntryType
    created_at: datetime
    actor: str | None = None
    agent_id: str | None = None
    task_id: str | None = None
    payload_hash: bytes

    def __post_init__(self) -> None:
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0:
            raise ValueError(f"seq must be a non-negative int, got {self.seq!r}")
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        if not isinstance(self.payload_hash, bytes) or len(self.payload_hash) != HASH_SIZE:
            raise ValueError("payload_hash must be 32 bytes")
        # Coerce a plain string so the leaf never depends on how the caller spelt the type.
        object.__setattr__(self, "entry_type", AuditEntryType(self.entry_type))


def leaf_data(record: AuditRecord) -> bytes:
    """Return the canonical bytes that become the record's Merkle leaf.

    Every field is present (``null`` when absent) so adding or removing one is visible.

    Args:
        record: The record.

    Returns:
        RFC 8785 JSON of the record's fields, with ``payload_hash`` as lowercase hex and
        ``created_at`` as RFC 3339 UTC with microseconds.
    """
    return canonical_json(
        {
            "v": LEAF_FORMAT_VERSION,
            "tenant_id": record.tenant_id,
            "seq": record.seq,
            "type": record.entry_type.value,
            "created_at": format_timestamp(record.created_at),
            "actor": record.actor,
            "agent_id": record.agent_id,
            "task_id": record.task_id,
            "payload_hash": record.payload_hash.hex(),
        }
    )


def record_leaf_hash(record: AuditRecord) -> bytes:
    """Return the Merkle leaf hash of a record: ``leaf_hash(leaf_data(record))``."""
    return leaf_hash(leaf_data(record))


def new_nonce() -> bytes:
    """Return a fresh random nonce for :func:`payload_commitment`."""
    return secrets.token_bytes(NONCE_SIZE)


def payload_commitment(nonce: bytes, payload: Mapping[str, object]) -> bytes:
    """Return SHA-256(nonce || canonical_json(payload)).

    The random nonce keeps a deleted low-entropy payload (say ``{"approved": true}``)
    from being recovered by hashing guesses against the kept commitment.

    Args:
        nonce: :data:`NONCE_SIZE` random bytes from :func:`new_nonce`.
        payload: The JSON object recorded by the entry.

    Returns:
        The 32-byte commitment.

    Raises:
        ValueError: The nonce has the wrong size.
        CanonicalJSONError: The payload has no canonical JSON form.
    """
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_SIZE:
        raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
    return hashlib.sha256(nonce + canonical_json(payload)).digest()
