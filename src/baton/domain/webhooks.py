"""Webhooks: the events a finished task sends, their payload, and their signature.

Every delivery is a JSON ``POST`` with these headers::

    X-Baton-Event: task.completed            (or task.failed, task.cancelled)
    X-Baton-Delivery: <delivery id>          (the same on every retry of it)
    X-Baton-Timestamp: <unix seconds>
    X-Baton-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

The secret is the tenant's (``GET /api/webhooks/secret``, hex). A receiver verifies with
``verify_signature(bytes.fromhex(secret), int(timestamp), raw_body, signature)``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.domain.tasks import Task, TaskStatus

__all__ = [
    "EVENTS",
    "SIGNATURE_PREFIX",
    "Delivery",
    "event_for",
    "sign",
    "task_payload",
    "tenant_secret",
    "verify_signature",
]

SIGNATURE_PREFIX = "sha256="
EVENTS: dict[TaskStatus, str] = {
    TaskStatus.COMPLETED: "task.completed",
    TaskStatus.FAILED: "task.failed",
    TaskStatus.CANCELLED: "task.cancelled",
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook call to make (or retry).

    Attributes:
        id: The delivery id, sent as ``X-Baton-Delivery``.
        tenant_id: Whose secret signs it.
        task_id: The task it reports.
        url: Where it goes.
        event: ``task.completed``, ``task.failed`` or ``task.cancelled``.
        payload: The JSON body.
        attempts: Attempts made before this one.
    """

    id: str
    tenant_id: str
    task_id: str
    url: str
    event: str
    payload: dict[str, Any]
    attempts: int


def event_for(status: TaskStatus) -> str | None:
    """The webhook event of a terminal status; None for the others."""
    return EVENTS.get(status)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def task_payload(task: Task) -> dict[str, Any]:
    """The body of a finished task's webhook: ``{event, task: {...}}``.

    Raises:
        ValueError: When the task has not reached a terminal status.
    """
    event = event_for(task.status)
    if event is None:
        raise ValueError(f"task {task.id} is {task.status.value}: no webhook event")
    return {
        "event": event,
        "task": {
            "id": task.id,
            "agent_id": task.agent_id,
            "agent_version": task.agent_version,
            "task_type": task.task_type,
            "status": task.status.value,
            "result": task.result,
            "error": task.error,
            "retry_count": task.retry_count,
            "created_at": _iso(task.created_at),
            "started_at": _iso(task.started_at),
            "completed_at": _iso(task.completed_at),
        },
    }


def tenant_secret(master: bytes, tenant_id: str) -> bytes:
    """A tenant's signing secret: HMAC-SHA256(master secret, tenant id)."""
    return hmac.new(master, tenant_id.encode("utf-8"), hashlib.sha256).digest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Baton-Signature`` value: ``sha256=`` + hex HMAC of ``f"{timestamp}.{body}"``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes,
    timestamp: int,
    body: bytes,
    header: str,
    tolerance_s: float = 300,
    *,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` with ``secret``, recently enough.

    Args:
        secret: The tenant's secret (``bytes.fromhex`` of ``GET /api/webhooks/secret``).
        timestamp: The ``X-Baton-Timestamp`` header, as an int.
        body: The raw request body, byte for byte.
        header: The ``X-Baton-Signature`` header.
        tolerance_s: How far the timestamp may be from now (replay protection).
        now: The current unix time; the system clock when None.

    Returns:
        True only for a matching signature on a timestamp within the tolerance.
    """
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header.strip())
