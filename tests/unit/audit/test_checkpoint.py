import base64
import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baton.domain.audit import (
    CHECKPOINT_DOMAIN,
    Checkpoint,
    CheckpointSigner,
    MalformedAuditData,
    canonical_json,
    key_id_for,
    public_key_from_b64,
    verify_checkpoint,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ROOT = hashlib.sha256(b"root").digest()
SEED = bytes(range(32))


@pytest.fixture
def signer() -> CheckpointSigner:
    return CheckpointSigner.from_seed(SEED)


def test_sign_then_verify(signer: CheckpointSigner) -> None:
    cp = signer.sign("t1", 10, ROOT, T0)
    assert (cp.tenant_id, cp.size, cp.root, cp.created_at) == ("t1", 10, ROOT, T0)
    assert cp.key_id == signer.key_id
    assert len(cp.signature) == 64
    assert verify_checkpoint(cp, signer.public_key)


def test_signed_message_is_domain_separated_canonical_json(signer: CheckpointSigner) -> None:
    cp = signer.sign("t1", 10, ROOT, T0)
    body = {
        "tenant": "t1",
        "size": 10,
        "root": ROOT.hex(),
        "time": "2024-05-01T12:00:00.000000Z",
        "key_id": signer.key_id,
    }
    assert CHECKPOINT_DOMAIN == b"baton-audit-checkpoint/v1\n"
    assert cp.signed_message() == CHECKPOINT_DOMAIN + canonical_json(body)
    # The signature is over the prefixed message, not the bare JSON.
    signer.public_key.verify(cp.signature, cp.signed_message())


def test_key_id_is_a_prefix_of_the_public_key_hash(signer: CheckpointSigner) -> None:
    raw = signer.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert key_id_for(signer.public_key) == signer.key_id
    assert base64.b64decode(signer.public_key_b64) == raw


@pytest.mark.parametrize(
    "change",
    [
        {"tenant_id": "t2"},
        {"size": 11},
        {"root": bytes(32)},
        {"created_at": T0 + timedelta(microseconds=1)},
        {"signature": bytes(64)},
        {"signature": b"short"},
    ],
    ids=["tenant", "size", "root", "time", "signature", "short-signature"],
)
def test_any_change_breaks_the_signature(
    signer: CheckpointSigner, change: dict[str, object]
) -> None:
    cp = dataclasses.replace(signer.sign("t1", 10, ROOT, T0), **change)  # type: ignore[arg-type]
    assert not verify_checkpoint(cp, signer.public_key)


def test_another_key_does_not_verify(signer: CheckpointSigner) -> None:
    other = CheckpointSigner.generate()
    cp = signer.sign("t1", 10, ROOT, T0)
    assert not verify_checkpoint(cp, other.public_key)
    # Relabelling the key id does not help either.
    relabelled = dataclasses.replace(cp, key_id=other.key_id)
    assert not verify_checkpoint(relabelled, other.public_key)


def test_generated_keys_differ() -> None:
    assert CheckpointSigner.generate().key_id != CheckpointSigner.generate().key_id


def test_env_value_round_trip(signer: CheckpointSigner) -> None:
    value = signer.to_env_value()
    assert base64.b64decode(value) == SEED
    assert CheckpointSigner.from_env_value(f"  {value}\n").key_id == signer.key_id


def test_pem_round_trip_and_pem_in_env(signer: CheckpointSigner) -> None:
    pem = signer.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert CheckpointSigner.from_pem(pem).key_id == signer.key_id
    assert CheckpointSigner.from_env_value(pem.decode()).key_id == signer.key_id


@pytest.mark.parametrize(
    "value",
    ["", "not base64!", base64.b64encode(b"x" * 31).decode(), "-----BEGIN PRIVATE KEY-----\nx"],
)
def test_bad_env_values_are_rejected_without_echoing_them(value: str) -> None:
    with pytest.raises(MalformedAuditData) as info:
        CheckpointSigner.from_env_value(value)
    if value:
        assert value not in str(info.value)


def test_public_key_from_b64(signer: CheckpointSigner) -> None:
    key = public_key_from_b64(signer.public_key_b64)
    assert key_id_for(key) == signer.key_id
    with pytest.raises(MalformedAuditData):
        public_key_from_b64("AAAA")


def test_json_round_trip(signer: CheckpointSigner) -> None:
    cp = signer.sign("t1", 10, ROOT, T0)
    data = cp.to_json()
    assert data == {
        "tenant_id": "t1",
        "size": 10,
        "root": ROOT.hex(),
        "created_at": "2024-05-01T12:00:00.000000Z",
        "key_id": signer.key_id,
        "signature": base64.b64encode(cp.signature).decode(),
    }
    back = Checkpoint.from_json(data)
    assert back == cp
    assert verify_checkpoint(back, signer.public_key)


def _exported() -> dict[str, object]:
    return CheckpointSigner.from_seed(SEED).sign("t1", 10, ROOT, T0).to_json()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tenant_id", None, "tenant_id"),
        ("size", "10", "size"),
        ("size", -1, "size"),
        ("size", True, "size"),
        ("root", "zz", "root"),
        ("root", "ab" * 31, "root"),
        ("root", ROOT.hex().upper(), "root"),
        ("created_at", "yesterday", "timestamp"),
        ("key_id", 5, "key_id"),
        ("signature", "***", "signature"),
        ("signature", base64.b64encode(b"x" * 63).decode(), "signature"),
    ],
)
def test_malformed_json_is_rejected_with_the_field_named(
    field: str, value: object, message: str
) -> None:
    data = _exported()
    data[field] = value
    with pytest.raises(MalformedAuditData, match=message):
        Checkpoint.from_json(data)


def test_missing_field_and_non_object_are_rejected() -> None:
    data = _exported()
    del data["signature"]
    with pytest.raises(MalformedAuditData, match="signature"):
        Checkpoint.from_json(data)
    with pytest.raises(MalformedAuditData, match="object"):
        Checkpoint.from_json([1, 2])


def test_sign_refuses_bad_roots(signer: CheckpointSigner) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        signer.sign("t1", 1, b"short", T0)
    with pytest.raises(ValueError, match="non-negative"):
        signer.sign("t1", -1, ROOT, T0)


def test_pem_of_another_key_type_is_rejected() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(MalformedAuditData, match="Ed25519"):
        CheckpointSigner.from_pem(pem)
