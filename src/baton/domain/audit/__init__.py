"""Tamper-evident audit log: canonical JSON, RFC 9162 Merkle trees, signed checkpoints."""

from baton.domain.audit.canonical import canonical_json, format_timestamp, parse_timestamp
from baton.domain.audit.checkpoint import (
    CHECKPOINT_DOMAIN,
    Checkpoint,
    CheckpointSigner,
    key_id_for,
    public_key_from_b64,
    verify_checkpoint,
)
from baton.domain.audit.entries import (
    NONCE_SIZE,
    AuditEntryType,
    AuditRecord,
    leaf_data,
    new_nonce,
    payload_commitment,
    record_leaf_hash,
)
from baton.domain.audit.errors import CanonicalJSONError, MalformedAuditData
from baton.domain.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from baton.domain.audit.verification import (
    LogVerifier,
    StoredPayload,
    VerificationReport,
    verify_log,
)

__all__ = [
    "CHECKPOINT_DOMAIN",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "NONCE_SIZE",
    "AuditEntryType",
    "AuditRecord",
    "CanonicalJSONError",
    "Checkpoint",
    "CheckpointSigner",
    "LogVerifier",
    "MalformedAuditData",
    "MerkleAccumulator",
    "StoredPayload",
    "VerificationReport",
    "canonical_json",
    "consistency_proof",
    "format_timestamp",
    "inclusion_proof",
    "key_id_for",
    "leaf_data",
    "leaf_hash",
    "new_nonce",
    "node_hash",
    "parse_timestamp",
    "payload_commitment",
    "public_key_from_b64",
    "record_leaf_hash",
    "root",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]
