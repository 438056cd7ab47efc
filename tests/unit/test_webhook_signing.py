"""Webhook signatures: what receivers check, and the payload of a finished task."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from baton.domain.tasks import Task, TaskStatus
from baton.domain.webhooks import sign, task_payload, tenant_secret, verify_signature

SECRET = bytes.fromhex("11" * 32)
BODY = b'{"event":"task.completed","task":{"id":"t1"}}'
NOW = 1_800_000_000


def test_the_signature_is_an_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"sha256={expected}"


def test_a_genuine_signature_verifies() -> None:
    header = sign(SECRET, NOW, BODY)
    assert verify_signature(SECRET, NOW, BODY, header, now=NOW + 10)
    assert verify_signature(SECRET, NOW, BODY, f"  {header} ", now=NOW - 10)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        (SECRET, NOW, BODY.replace(b"t1", b"t2"), NOW),  # tampered body
        (bytes.fromhex("22" * 32), NOW, BODY, NOW),  # another secret
        (SECRET, NOW + 1, BODY, NOW),  # another timestamp than the signed one
        (SECRET, NOW, BODY, NOW + 301),  # stale
        (SECRET, NOW, BODY, NOW - 301),  # from the future
    ],
)
def test_anything_else_fails(secret: bytes, timestamp: int, body: bytes, now: int) -> None:
    header = sign(SECRET, NOW, BODY)
    assert not verify_signature(secret, timestamp, body, header, now=now)


def test_malformed_headers_fail() -> None:
    header = sign(SECRET, NOW, BODY)
    for bad in ("", "sha256=", header.removeprefix("sha256="), "sha1=" + header[7:]):
        assert not verify_signature(SECRET, NOW, BODY, bad, now=NOW)


def test_the_tolerance_is_configurable() -> None:
    header = sign(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, NOW, BODY, header, tolerance_s=5, now=NOW + 6)
    assert verify_signature(SECRET, NOW, BODY, header, tolerance_s=5, now=NOW + 5)


def test_tenants_get_different_secrets() -> None:
    a, b = tenant_secret(b"master", "tenant-a"), tenant_secret(b"master", "tenant-b")
    assert a != b and len(a) == 32
    assert tenant_secret(b"master", "tenant-a") == a
    assert tenant_secret(b"other", "tenant-a") != a


def _task(status: TaskStatus) -> Task:
    moment = datetime(2026, 11, 22, tzinfo=UTC)
    return Task(
        id="t1",
        tenant_id="ten",
        kind="agent",
        agent_id="a1",
        agent_version=2,
        task_type="math",
        input={"prompt": "x"},
        status=status,
        priority=0,
        result={"output": "5"} if status is TaskStatus.COMPLETED else None,
        error=None,
        retry_count=1,
        max_retries=3,
        crash_count=0,
        timeout_s=None,
        idempotency_key=None,
        created_at=moment,
        started_at=moment,
        completed_at=moment,
        lease_owner=None,
        lease_epoch=1,
        cancel_requested=False,
    )


def test_the_payload_of_a_finished_task() -> None:
    payload = task_payload(_task(TaskStatus.COMPLETED))
    assert payload["event"] == "task.completed"
    assert payload["task"] == {
        "id": "t1",
        "agent_id": "a1",
        "agent_version": 2,
        "task_type": "math",
        "status": "completed",
        "result": {"output": "5"},
        "error": None,
        "retry_count": 1,
        "created_at": "2026-11-22T00:00:00+00:00",
        "started_at": "2026-11-22T00:00:00+00:00",
        "completed_at": "2026-11-22T00:00:00+00:00",
    }
    assert task_payload(_task(TaskStatus.FAILED))["event"] == "task.failed"
    assert task_payload(_task(TaskStatus.CANCELLED))["event"] == "task.cancelled"
    with pytest.raises(ValueError, match="no webhook event"):
        task_payload(_task(TaskStatus.RUNNING))
