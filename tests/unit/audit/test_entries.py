import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from baton.domain.audit import (
    NONCE_SIZE,
    AuditEntryType,
    AuditRecord,
    CanonicalJSONError,
    leaf_data,
    leaf_hash,
    new_nonce,
    payload_commitment,
    record_leaf_hash,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
PAYLOAD_HASH = bytes(range(32))


def _record(**changes: object) -> AuditRecord:
    base = AuditRecord(
        tenant_id="t1",
        seq=7,
        entry_type=AuditEntryType.TOOL_CALL,
        created_at=T0,
        actor="key_1",
        agent_id="agent_1",
        task_id=None,
        payload_hash=PAYLOAD_HASH,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_entry_types_are_exactly_the_documented_ones() -> None:
    assert [t.value for t in AuditEntryType] == [
        "prompt",
        "llm_response",
        "tool_call",
        "tool_result",
        "result",
        "error",
        "status_change",
        "admin_action",
    ]


def test_leaf_data_is_canonical_json_of_every_field() -> None:
    assert leaf_data(_record()) == (
        b'{"actor":"key_1","agent_id":"agent_1","created_at":"2024-05-01T12:00:00.123456Z",'
        b'"payload_hash":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",'
        b'"seq":7,"task_id":null,"tenant_id":"t1","type":"tool_call","v":1}'
    )
    assert record_leaf_hash(_record()) == leaf_hash(leaf_data(_record()))


@pytest.mark.parametrize(
    "change",
    [
        {"tenant_id": "t2"},
        {"seq": 8},
        {"entry_type": AuditEntryType.TOOL_RESULT},
        {"created_at": T0 + timedelta(microseconds=1)},
        {"actor": None},
        {"actor": "key_2"},
        {"agent_id": "agent_2"},
        {"task_id": "task_1"},
        {"payload_hash": bytes(32)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_every_field_changes_the_leaf(change: dict[str, object]) -> None:
    assert leaf_data(_record(**change)) != leaf_data(_record())


def test_the_same_instant_in_another_zone_gives_the_same_leaf() -> None:
    paris = T0.astimezone(timezone(timedelta(hours=2)))
    assert leaf_data(_record(created_at=paris)) == leaf_data(_record())


def test_entry_type_given_as_a_string_is_coerced() -> None:
    record = _record(entry_type="tool_call")
    assert record.entry_type is AuditEntryType.TOOL_CALL
    with pytest.raises(ValueError):
        _record(entry_type="shell")


@pytest.mark.parametrize(
    "change",
    [
        {"seq": -1},
        {"seq": True},
        {"created_at": datetime(2024, 5, 1)},
        {"payload_hash": b"short"},
    ],
    ids=["negative-seq", "bool-seq", "naive-time", "short-hash"],
)
def test_invalid_records_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _record(**change)


def test_records_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _record().seq = 3  # type: ignore[misc]


def test_payload_commitment_is_sha256_of_nonce_and_canonical_payload() -> None:
    nonce = bytes(16)
    payload = {"b": 1, "a": "x"}
    expected = hashlib.sha256(nonce + b'{"a":"x","b":1}').digest()
    assert payload_commitment(nonce, payload) == expected
    assert payload_commitment(nonce, {"a": "x", "b": 1}) == expected


def test_payload_commitment_depends_on_nonce_and_payload() -> None:
    n1, n2 = new_nonce(), new_nonce()
    assert len(n1) == NONCE_SIZE
    assert n1 != n2
    assert payload_commitment(n1, {"a": 1}) != payload_commitment(n2, {"a": 1})
    assert payload_commitment(n1, {"a": 1}) != payload_commitment(n1, {"a": 2})


def test_payload_commitment_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="nonce"):
        payload_commitment(b"short", {})
    with pytest.raises(CanonicalJSONError):
        payload_commitment(new_nonce(), {"x": float("nan")})
