import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from baton.domain.audit import (
    AuditEntryType,
    AuditRecord,
    Checkpoint,
    CheckpointSigner,
    LogVerifier,
    MerkleAccumulator,
    StoredPayload,
    VerificationReport,
    payload_commitment,
    record_leaf_hash,
    verify_log,
)

TENANT = "t1"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
K1 = CheckpointSigner.from_seed(b"\x01" * 32)
K2 = CheckpointSigner.from_seed(b"\x02" * 32)
TYPES = list(AuditEntryType)


@dataclass
class Log:
    records: list[AuditRecord]
    payloads: dict[int, StoredPayload]
    checkpoints: list[Checkpoint] = field(default_factory=list)

    def leaf_hashes(self) -> dict[int, bytes]:
        return {r.seq: record_leaf_hash(r) for r in self.records}


def build_log(
    n: int,
    signer: CheckpointSigner | None = K1,
    every: int = 4,
    text: str = "entry",
    tenant: str = TENANT,
) -> Log:
    """A log as the store would write it, with a signed checkpoint every `every` entries."""
    log = Log([], {})
    tree = MerkleAccumulator()
    for seq in range(n):
        nonce = seq.to_bytes(16, "big")
        payload = {"seq": seq, "text": f"{text} {seq}"}
        record = AuditRecord(
            tenant_id=tenant,
            seq=seq,
            entry_type=TYPES[seq % len(TYPES)],
            created_at=T0 + timedelta(seconds=seq),
            actor="worker-1",
            agent_id="agent-1",
            task_id=f"task-{seq // 3}",
            payload_hash=payload_commitment(nonce, payload),
        )
        log.records.append(record)
        log.payloads[seq] = (nonce, payload)
        tree.append(record_leaf_hash(record))
        if signer is not None and tree.size % every == 0:
            log.checkpoints.append(signer.sign(tenant, tree.size, tree.root(), T0))
    return log


def check(
    log: Log,
    keys: Ed25519PublicKey | list[Ed25519PublicKey] = K1.public_key,
    **options: object,
) -> VerificationReport:
    return verify_log(
        TENANT,
        log.records,
        log.payloads,
        keys,
        checkpoints=log.checkpoints,
        **options,  # type: ignore[arg-type]
    )


def exported(cp: Checkpoint) -> Checkpoint:
    """What the user kept: the checkpoint after an export/import round trip."""
    return Checkpoint.from_json(cp.to_json())


def assert_invalid(report: VerificationReport, seq: int | None, reason: str) -> None:
    assert not report.valid
    assert report.first_invalid_seq == seq, report
    assert report.reason is not None and reason in report.reason, report


# --- untouched logs -------------------------------------------------------------------


def test_untouched_log_is_valid() -> None:
    report = check(build_log(10))
    assert report == VerificationReport(
        valid=True,
        checked=10,
        checkpoints_verified=2,
        first_invalid_seq=None,
        reason=None,
        payloads_expired=0,
    )


def test_empty_log_is_valid_and_can_be_checkpointed() -> None:
    log = build_log(0)
    log.checkpoints.append(K1.sign(TENANT, 0, MerkleAccumulator().root(), T0))
    report = check(log)
    assert report.valid
    assert (report.checked, report.checkpoints_verified) == (0, 1)


def test_stored_leaf_hashes_that_match_are_accepted() -> None:
    log = build_log(10)
    assert check(log, leaf_hashes=log.leaf_hashes()).valid


# --- altered entries ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "api-key-9"},
        {"agent_id": "agent-2"},
        {"task_id": None},
        {"created_at": T0},
        {"entry_type": AuditEntryType.ADMIN_ACTION},
    ],
    ids=lambda c: next(iter(c)),
)
def test_changed_field_is_caught_by_the_covering_checkpoint(change: dict[str, object]) -> None:
    log = build_log(10)
    log.records[5] = dataclasses.replace(log.records[5], **change)  # type: ignore[arg-type]
    report = check(log)
    assert_invalid(report, None, "does not match the checkpoint at size 8")
    assert "seqs 4..7" in str(report.reason)
    assert report.failed_checkpoint_size == 8
    assert (report.checked, report.checkpoints_verified) == (8, 1)


def test_payload_rewritten_together_with_its_hash_is_caught_by_the_checkpoint() -> None:
    log = build_log(10)
    nonce, forged = bytes(16), {"seq": 2, "text": "something else"}
    log.payloads[2] = (nonce, forged)
    log.records[2] = dataclasses.replace(
        log.records[2], payload_hash=payload_commitment(nonce, forged)
    )
    report = check(log)
    assert_invalid(report, None, "does not match the checkpoint at size 4")
    assert report.failed_checkpoint_size == 4


def test_stored_leaf_hash_names_the_altered_entry() -> None:
    log = build_log(10)
    leaves = log.leaf_hashes()
    log.records[5] = dataclasses.replace(log.records[5], actor="intruder")
    assert_invalid(check(log, leaf_hashes=leaves), 5, "stored leaf hash")


def test_a_checkpoint_per_entry_names_the_altered_entry() -> None:
    log = build_log(10, every=1)
    log.records[5] = dataclasses.replace(log.records[5], actor="intruder")
    report = check(log)
    assert_invalid(report, 5, "checkpoint at size 6")
    assert report.checkpoints_verified == 5


def test_entries_after_the_last_checkpoint_wait_for_the_next_one() -> None:
    # Documented limit: without a leaf hash column, only a signed root protects an entry.
    log = build_log(10)
    tree = MerkleAccumulator()
    for record in log.records:
        tree.append(record_leaf_hash(record))
    log.records[9] = dataclasses.replace(log.records[9], actor="intruder")
    assert check(log).valid
    log.checkpoints.append(K1.sign(TENANT, 10, tree.root(), T0))
    assert_invalid(check(log), None, "checkpoint at size 10 (an entry in seqs 8..9 was altered)")


def test_entry_of_another_tenant_is_rejected() -> None:
    log = build_log(10)
    log.records[2] = dataclasses.replace(log.records[2], tenant_id="t2")
    assert_invalid(check(log), 2, "another tenant")


# --- missing, reordered, duplicated entries -------------------------------------------


def test_deleted_middle_entry_names_the_missing_seq() -> None:
    log = build_log(10)
    del log.records[5]
    del log.payloads[5]
    report = check(log)
    assert_invalid(report, 5, "expected seq 5, found seq 6")
    assert report.checked == 5


def test_reordered_entries_name_the_first_misplaced_position() -> None:
    log = build_log(10)
    log.records[3], log.records[4] = log.records[4], log.records[3]
    assert_invalid(check(log), 3, "expected seq 3, found seq 4")


def test_duplicated_entry_names_the_first_misplaced_position() -> None:
    log = build_log(10)
    log.records.insert(4, log.records[3])
    assert_invalid(check(log), 4, "expected seq 4, found seq 3")


def test_truncated_tail_is_caught_by_a_checkpoint() -> None:
    log = build_log(12)
    del log.records[10:]
    report = check(log)
    assert_invalid(report, 10, "log has 10 entries but a checkpoint covers 12")
    assert report.failed_checkpoint_size == 12
    assert (report.checked, report.checkpoints_verified) == (10, 2)


# --- payloads and retention -----------------------------------------------------------


def test_altered_payload_is_caught_by_its_hash() -> None:
    log = build_log(10)
    nonce, _ = log.payloads[3]
    log.payloads[3] = (nonce, {"seq": 3, "text": "rewritten"})
    assert_invalid(check(log), 3, "payload hash mismatch")


@pytest.mark.parametrize(
    "stored",
    [
        (bytes(16), {"seq": 3, "text": "entry 3"}),
        (b"short", {"seq": 3, "text": "entry 3"}),
        (bytes(3).rjust(16, b"\0"), {"x": float("nan")}),
        (bytes(16), ["not", "an", "object"]),
    ],
    ids=["other-nonce", "short-nonce", "nan-payload", "array-payload"],
)
def test_unhashable_or_renonced_payloads_are_mismatches_not_crashes(
    stored: StoredPayload,
) -> None:
    log = build_log(10)
    log.payloads[3] = stored
    assert_invalid(check(log), 3, "payload hash mismatch")


def test_payloads_expired_below_the_watermark_are_counted_not_failed() -> None:
    log = build_log(10)
    for seq in range(6):
        del log.payloads[seq]
    report = check(log, retention_watermark=6)
    assert report.valid
    assert (report.checked, report.payloads_expired, report.checkpoints_verified) == (10, 6, 2)


def test_payload_missing_at_or_above_the_watermark_is_invalid() -> None:
    log = build_log(10)
    for seq in (0, 1, 6):
        del log.payloads[seq]
    report = check(log, retention_watermark=6)
    assert_invalid(report, 6, "payload missing")
    assert report.payloads_expired == 2


# --- checkpoints ----------------------------------------------------------------------


def test_checkpoint_with_a_forged_root_fails_its_signature() -> None:
    log = build_log(10)
    log.records[5] = dataclasses.replace(log.records[5], actor="intruder")
    tree = MerkleAccumulator()
    for record in log.records[:8]:
        tree.append(record_leaf_hash(record))
    log.checkpoints[1] = dataclasses.replace(log.checkpoints[1], root=tree.root())
    report = check(log)
    assert_invalid(report, None, "checkpoint at size 8 has an invalid signature")
    assert report.failed_checkpoint_size == 8


def test_checkpoint_signed_by_an_unknown_key_is_rejected() -> None:
    log = build_log(10, signer=K2)
    assert_invalid(check(log), None, f"signed by an unknown key ({K2.key_id})")


def test_checkpoint_of_another_tenant_is_rejected() -> None:
    log = build_log(10)
    other = build_log(10, tenant="t2")
    log.checkpoints.append(other.checkpoints[0])
    assert_invalid(check(log), None, "checkpoint at size 4 belongs to another tenant")


def test_forged_checkpoint_beyond_the_log_is_a_bad_signature_not_a_truncation() -> None:
    log = build_log(10)
    log.checkpoints.append(dataclasses.replace(log.checkpoints[0], size=100))
    assert_invalid(check(log), None, "checkpoint at size 100 has an invalid signature")


def test_old_checkpoints_still_verify_after_a_key_rotation() -> None:
    log = build_log(10)
    tree = MerkleAccumulator()
    for record in log.records:
        tree.append(record_leaf_hash(record))
    log.checkpoints.append(K2.sign(TENANT, 10, tree.root(), T0))
    report = check(log, keys=[K1.public_key, K2.public_key])
    assert report.valid
    assert report.checkpoints_verified == 3
    assert not check(log, keys=K2.public_key).valid


# --- the user's trusted checkpoint ----------------------------------------------------


def test_log_extending_the_trusted_checkpoint_is_valid() -> None:
    trusted = exported(build_log(8).checkpoints[-1])
    report = check(build_log(13), trusted_checkpoint=trusted)
    assert report.valid
    assert report.checkpoints_verified == 4  # sizes 4, 8, 12 and the trusted 8


def test_log_replaced_and_signed_by_another_key_is_caught_by_the_trusted_checkpoint() -> None:
    trusted = exported(build_log(10).checkpoints[-1])
    # The intruder rewrote history and re-signed it with a key they put in the config.
    forged = build_log(10, signer=K2, text="rewritten")
    assert check(forged, keys=K2.public_key).valid
    report = check(forged, keys=K2.public_key, trusted_checkpoint=trusted)
    assert_invalid(report, None, "trusted checkpoint is signed by an unknown key")
    assert report.checked == 0


def test_log_replaced_after_a_rotation_does_not_extend_the_trusted_checkpoint() -> None:
    trusted = exported(build_log(10).checkpoints[-1])
    forged = build_log(10, signer=K2, text="rewritten")
    keys = [K1.public_key, K2.public_key]
    assert check(forged, keys=keys).valid
    report = check(forged, keys=keys, trusted_checkpoint=trusted)
    assert_invalid(report, None, "does not extend the trusted checkpoint at size 8")
    assert "seqs 0..7" in str(report.reason)
    assert report.failed_checkpoint_size == 8


def test_unsigned_replacement_log_is_caught_by_the_trusted_checkpoint() -> None:
    trusted = exported(build_log(10).checkpoints[-1])
    forged = build_log(10, signer=None, text="rewritten")
    assert check(forged).valid
    assert_invalid(
        check(forged, trusted_checkpoint=trusted), None, "does not extend the trusted checkpoint"
    )


def test_rollback_below_the_trusted_checkpoint_is_caught() -> None:
    trusted = exported(build_log(12).checkpoints[-1])
    rolled_back = build_log(9)
    assert check(rolled_back).valid
    report = check(rolled_back, trusted_checkpoint=trusted)
    assert_invalid(report, 9, "log has 9 entries but the trusted checkpoint covers 12")


def test_trusted_checkpoint_with_a_bad_signature_is_rejected() -> None:
    trusted = dataclasses.replace(build_log(8).checkpoints[-1], size=7)
    report = check(build_log(10), trusted_checkpoint=trusted)
    assert_invalid(report, None, "trusted checkpoint has an invalid signature")


def test_trusted_checkpoint_of_another_tenant_is_rejected() -> None:
    trusted = build_log(8, tenant="t2").checkpoints[-1]
    assert_invalid(
        check(build_log(10), trusted_checkpoint=trusted), None, "belongs to another tenant"
    )


# --- streaming use --------------------------------------------------------------------


def test_streaming_verifier_stops_at_the_first_failure() -> None:
    log = build_log(10)
    log.records[3] = dataclasses.replace(log.records[3], seq=4)
    verifier = LogVerifier(TENANT, K1.public_key, checkpoints=log.checkpoints)
    accepted = [verifier.feed(r, log.payloads[r.seq]) for r in log.records]
    assert accepted == [True, True, True] + [False] * 7
    assert verifier.failed
    assert_invalid(verifier.finish(), 3, "expected seq 3, found seq 4")


def test_unreadable_row_is_reported_at_its_position() -> None:
    log = build_log(10)
    verifier = LogVerifier(TENANT, K1.public_key, checkpoints=log.checkpoints)
    for record in log.records[:6]:
        verifier.feed(record, log.payloads[record.seq])
    verifier.reject_entry("row cannot be decoded: unknown entry type 'shell'")
    report = verifier.finish()
    assert_invalid(report, 6, "unknown entry type")
    assert report.checked == 6
