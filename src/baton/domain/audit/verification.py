"""Pure verification of a tenant's audit log as read back from storage.

The store streams entries in seq order into a :class:`LogVerifier` (one pass, O(log n)
memory for the tree, plus the checkpoints), then calls :meth:`LogVerifier.finish`.
:func:`verify_log` does the same for in-memory data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from baton.domain.audit.checkpoint import Checkpoint, key_id_for, verify_checkpoint
from baton.domain.audit.entries import AuditRecord, payload_commitment, record_leaf_hash
from baton.domain.audit.merkle import MerkleAccumulator

StoredPayload = tuple[bytes, object]
"""A payload row still present: (nonce, payload JSON object)."""


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Outcome of verifying one tenant's log.

    Attributes:
        valid: Whether every check passed.
        checked: Entries that passed every per-entry check before the first failure.
        checkpoints_verified: Checkpoints (stored and trusted) whose signature and root
            matched the log.
        first_invalid_seq: The first bad entry when it can be named: a missing or
            misplaced seq, an altered entry, a payload that does not match, the first seq
            missing after a truncation. ``None`` when the failure is not tied to one entry.
        reason: Why the log is invalid, for people.
        payloads_expired: Entries whose payload was deleted by retention.
        failed_checkpoint_size: Size of the checkpoint that failed, if one did.
    """

    valid: bool
    checked: int
    checkpoints_verified: int
    first_invalid_seq: int | None
    reason: str | None
    payloads_expired: int
    failed_checkpoint_size: int | None = None


class LogVerifier:
    """Verifies a tenant's log fed one entry at a time, in the order the store read them."""

    def __init__(
        self,
        tenant_id: str,
        public_keys: Ed25519PublicKey | Sequence[Ed25519PublicKey],
        *,
        checkpoints: Iterable[Checkpoint] = (),
        trusted_checkpoint: Checkpoint | None = None,
        retention_watermark: int = 0,
    ) -> None:
        """Prepare to verify ``tenant_id``'s log.

        Args:
            tenant_id: Tenant whose log is read.
            public_keys: Keys whose checkpoint signatures are accepted (several after a key
                rotation); a checkpoint signed by any other key is invalid.
            checkpoints: The checkpoints stored for this tenant.
            trusted_checkpoint: A checkpoint the user exported earlier and kept; the log
                must still extend it.
            retention_watermark: Seqs below it may have lost their payload to retention.
        """
        keys = [public_keys] if isinstance(public_keys, Ed25519PublicKey) else public_keys
        self._tenant_id = tenant_id
        self._keys = {key_id_for(k): k for k in keys}
        self._watermark = retention_watermark
        self._tree = MerkleAccumulator()
        self._pending: dict[int, list[tuple[Checkpoint, bool]]] = {}
        for cp in checkpoints:
            self._pending.setdefault(cp.size, []).append((cp, False))
        if trusted_checkpoint is not None:
            self._pending.setdefault(trusted_checkpoint.size, []).append((trusted_checkpoint, True))
        self._checked = 0
        self._checkpoints_verified = 0
        self._expired = 0
        self._last_good_size = 0
        self._failure: VerificationReport | None = None
        if trusted_checkpoint is not None:
            # Checked up front: a forged or foreign anchor makes everything else moot.
            problem = self._signature_problem(trusted_checkpoint, trusted=True)
            if problem is not None:
                self._fail(None, problem, trusted_checkpoint.size)
        self._settle_checkpoints()

    @property
    def failed(self) -> bool:
        """Whether a check already failed (the caller may stop reading)."""
        return self._failure is not None

    def feed(
        self,
        record: AuditRecord,
        payload: StoredPayload | None = None,
        stored_leaf_hash: bytes | None = None,
    ) -> bool:
        """Check the next entry read from the store.

        Args:
            record: The entry, as stored.
            payload: Its (nonce, payload) row, or ``None`` if there is none.
            stored_leaf_hash: The leaf hash column, if the store keeps one.

        Returns:
            False once the log is known to be invalid; feeding more does nothing.
        """
        if self._failure is not None:
            return False
        expected = self._tree.size
        if record.seq != expected:
            return self._fail(expected, f"expected seq {expected}, found seq {record.seq}")
        if record.tenant_id != self._tenant_id:
            return self._fail(expected, "entry belongs to another tenant")
        leaf = record_leaf_hash(record)
        if stored_leaf_hash is not None and stored_leaf_hash != leaf:
            return self._fail(expected, "entry does not match its stored leaf hash")
        if payload is not None:
            if not self._payload_matches(record, payload):
                return self._fail(expected, "payload hash mismatch")
        elif expected >= self._watermark:
            return self._fail(expected, "payload missing (not expired by retention)")
        else:
            self._expired += 1
        self._tree.append(leaf)
        self._checked += 1
        self._settle_checkpoints()
        return self._failure is None

    def reject_entry(self, reason: str) -> None:
        """Mark the next entry invalid when the store could not even read it as a record."""
        if self._failure is None:
            self._fail(self._tree.size, reason)

    def finish(self) -> VerificationReport:
        """Return the report once every entry has been fed."""
        if self._failure is None and self._pending:
            self._check_beyond_end()
        if self._failure is not None:
            return self._failure
        return VerificationReport(
            valid=True,
            checked=self._checked,
            checkpoints_verified=self._checkpoints_verified,
            first_invalid_seq=None,
            reason=None,
            payloads_expired=self._expired,
        )

    def _check_beyond_end(self) -> None:
        size = self._tree.size
        beyond = [item for cp_size in sorted(self._pending) for item in self._pending[cp_size]]
        problems = [
            (cp, trusted, self._signature_problem(cp, trusted=trusted)) for cp, trusted in beyond
        ]
        for cp, trusted, problem in problems:
            if problem is None:
                which = "the trusted checkpoint" if trusted else "a checkpoint"
                self._fail(
                    size,
                    f"log has {size} entries but {which} covers {cp.size}: "
                    "truncated or rolled back",
                    cp.size,
                )
                return
        cp, _, problem = problems[0]
        self._fail(None, str(problem), cp.size)

    def _payload_matches(self, record: AuditRecord, payload: StoredPayload) -> bool:
        nonce, body = payload
        if not isinstance(body, Mapping):
            return False
        try:
            return payload_commitment(nonce, body) == record.payload_hash
        except (ValueError, TypeError):
            # A payload that cannot even be hashed was not the one committed to.
            return False

    def _signature_problem(self, cp: Checkpoint, *, trusted: bool) -> str | None:
        which = "trusted checkpoint" if trusted else f"checkpoint at size {cp.size}"
        if cp.tenant_id != self._tenant_id:
            return f"{which} belongs to another tenant"
        key = self._keys.get(cp.key_id)
        if key is None:
            return f"{which} is signed by an unknown key ({cp.key_id})"
        if not verify_checkpoint(cp, key):
            return f"{which} has an invalid signature"
        return None

    def _settle_checkpoints(self) -> None:
        size = self._tree.size
        due = self._pending.pop(size, [])
        if not due or self._failure is not None:
            return
        current = self._tree.root()
        for cp, trusted in due:
            problem = self._signature_problem(cp, trusted=trusted)
            if problem is not None:
                self._fail(None, problem, size)
                return
            if cp.root != current:
                self._root_mismatch(size, trusted=trusted)
                return
            self._checkpoints_verified += 1
        self._last_good_size = size

    def _root_mismatch(self, size: int, *, trusted: bool) -> None:
        if trusted:
            # The stored checkpoints are exactly what a trusted one distrusts: no narrowing.
            lo = 0
            reason = f"log does not extend the trusted checkpoint at size {size}: history rewritten"
        else:
            lo = self._last_good_size
            reason = f"log does not match the checkpoint at size {size}"
        if size > 0:
            reason += f" (an entry in seqs {lo}..{size - 1} was altered)"
        # With only one entry between two good roots, the root pins down the bad entry.
        self._fail(lo if size - lo == 1 else None, reason, size)

    def _fail(self, seq: int | None, reason: str, checkpoint_size: int | None = None) -> bool:
        self._failure = VerificationReport(
            valid=False,
            checked=self._checked,
            checkpoints_verified=self._checkpoints_verified,
            first_invalid_seq=seq,
            reason=reason,
            payloads_expired=self._expired,
            failed_checkpoint_size=checkpoint_size,
        )
        return False


def verify_log(
    tenant_id: str,
    records: Iterable[AuditRecord],
    payloads: Mapping[int, StoredPayload],
    public_keys: Ed25519PublicKey | Sequence[Ed25519PublicKey],
    *,
    checkpoints: Iterable[Checkpoint] = (),
    trusted_checkpoint: Checkpoint | None = None,
    retention_watermark: int = 0,
    leaf_hashes: Mapping[int, bytes] | None = None,
) -> VerificationReport:
    """Verify a tenant's log held in memory (see :class:`LogVerifier` for the rules).

    Args:
        tenant_id: Tenant whose log is read.
        records: The entries in the order the store returned them.
        payloads: Payload rows still present, by seq.
        public_keys: Accepted checkpoint signing keys.
        checkpoints: The stored checkpoints.
        trusted_checkpoint: A checkpoint the user kept, which the log must extend.
        retention_watermark: Seqs below it may have lost their payload.
        leaf_hashes: The stored per-entry leaf hashes by seq, if the store keeps them.

    Returns:
        The report.
    """
    verifier = LogVerifier(
        tenant_id,
        public_keys,
        checkpoints=checkpoints,
        trusted_checkpoint=trusted_checkpoint,
        retention_watermark=retention_watermark,
    )
    for record in records:
        stored_leaf = leaf_hashes.get(record.seq) if leaf_hashes is not None else None
        if not verifier.feed(record, payloads.get(record.seq), stored_leaf):
            break
    return verifier.finish()
