"""The webhook outbox: deliveries owed for finished tasks, claimed under a short lease.

Synchronous Core over one transaction's connection, run through ``Database.run``. A
delivery is inserted in the transaction that finishes its task, so it exists exactly when
the task's terminal status does. Senders claim due rows with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (the SQLite writer thread already serialises claims) and push their
``next_attempt_at`` forward by a lease before sending, so no two senders send one delivery
at once; a sender that dies leaves it due again when the lease runs out.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from baton.domain.ids import new_id
from baton.domain.tasks import Task
from baton.domain.webhooks import Delivery, event_for, task_payload
from baton.store.columns import clock_expressions, utcnow
from baton.store.direct import DirectStatement
from baton.store.tables import AgentTaskRow, Base, WebhookDeliveryRow

D = WebhookDeliveryRow
T = AgentTaskRow


class DeliveryStatus(StrEnum):
    """Where a delivery is: owed, done, or given up on."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A stored delivery with its bookkeeping."""

    delivery: Delivery
    status: DeliveryStatus
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How one send went.

    Attributes:
        delivery_id: The delivery sent.
        attempts: Attempts made so far, this one included.
        error: None when the receiver answered 2xx; else why it did not.
        retry_in: Seconds until the next attempt; None with an error means give up.
    """

    delivery_id: str
    attempts: int
    error: str | None = None
    retry_in: float | None = None


_DELIVERY_COLUMNS = (D.id, D.tenant_id, D.task_id, D.url, D.event, D.payload, D.attempts)


# Every finish asks which of its tasks want a webhook: on the driver cursor (store/direct).
_WEBHOOK_URLS = DirectStatement(
    select(T.id, T.webhook_url).where(
        T.id.in_(bindparam("ids", expanding=True)), T.webhook_url.is_not(None)
    )
)


@functools.cache
def _statements(pg: bool) -> dict[str, Any]:
    """Statements built once per dialect; 'now' is the database clock on PostgreSQL."""
    now, lease_until, retry_at = clock_expressions(pg)
    ids: Any = bindparam("ids", expanding=True)
    pending = D.status == DeliveryStatus.PENDING.value
    due = (
        select(*_DELIVERY_COLUMNS)
        .where(pending, D.next_attempt_at <= now)
        .order_by(D.next_attempt_at, D.id)
        .limit(bindparam("limit"))
    )
    if pg:
        due = due.with_for_update(skip_locked=True)
    by_id = D.id == bindparam("delivery_id")
    return {
        "insert": Base.metadata.tables["webhook_deliveries"].insert(),
        "due": due,
        "lease": update(D).where(D.id.in_(ids), pending).values(next_attempt_at=lease_until),
        "delivered": update(D)
        .where(by_id, pending)
        .values(
            status=DeliveryStatus.DELIVERED.value,
            attempts=bindparam("attempts"),
            last_error=None,
            delivered_at=now,
        ),
        "retry": update(D)
        .where(by_id, pending)
        .values(
            attempts=bindparam("attempts"),
            last_error=bindparam("error"),
            next_attempt_at=retry_at,
        ),
        "failed": update(D)
        .where(by_id, pending)
        .values(
            status=DeliveryStatus.FAILED.value,
            attempts=bindparam("attempts"),
            last_error=bindparam("error"),
        ),
    }


class WebhookRepository:
    """Reads and writes the outbox inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._pg = conn.dialect.name == "postgresql"
        self._sql = _statements(self._pg)

    def enqueue(self, tasks: Sequence[Task]) -> int:
        """Owe a delivery for each finished task that was submitted with a webhook URL."""
        finished = {t.id: t for t in tasks if event_for(t.status) is not None}
        if not finished:
            return 0
        urls = _WEBHOOK_URLS.execute(self._c, {"ids": list(finished)})
        if not urls:
            return 0
        now = utcnow()
        rows = []
        for task_id, url in urls:
            task = finished[task_id]
            payload = task_payload(task)
            rows.append(
                {
                    "id": new_id(),
                    "tenant_id": task.tenant_id,
                    "task_id": task.id,
                    "url": url,
                    "event": payload["event"],
                    "payload": payload,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "status": DeliveryStatus.PENDING.value,
                    "last_error": None,
                    "created_at": now,
                    "delivered_at": None,
                }
            )
        self._c.execute(self._sql["insert"], rows)
        return len(rows)

    def claim_due(self, limit: int, lease: timedelta) -> list[Delivery]:
        """Take up to ``limit`` due deliveries, making them not due again for ``lease``."""
        due_params: dict[str, Any] = {"limit": limit}
        lease_params: dict[str, Any] = {"lease": lease}
        if not self._pg:
            now = utcnow()
            due_params["now"], lease_params = now, {"lease_until": now + lease}
        rows = self._c.execute(self._sql["due"], due_params).all()
        if not rows:
            return []
        self._c.execute(self._sql["lease"], {**lease_params, "ids": [r.id for r in rows]})
        return [Delivery(*row) for row in rows]

    def record(self, results: Sequence[AttemptResult]) -> None:
        """Write how sends went: delivered, due again later, or failed for good."""
        now = utcnow()
        for result in results:
            params: dict[str, Any] = {"delivery_id": result.delivery_id}
            params.update(attempts=result.attempts, error=result.error)
            if result.error is None:
                statement = self._sql["delivered"]
                params.pop("error")
            elif result.retry_in is None:
                statement = self._sql["failed"]
            else:
                statement = self._sql["retry"]
                delay = timedelta(seconds=result.retry_in)
                params.update({"retry": delay} if self._pg else {"retry_at": now + delay})
            if not self._pg:
                params["now"] = now
            self._c.execute(statement, params)

    def for_task(self, tenant_id: str, task_id: str) -> list[DeliveryRecord]:
        """A task's deliveries, oldest first."""
        query = (
            select(*_DELIVERY_COLUMNS, D.status, D.last_error, D.next_attempt_at)
            .add_columns(D.created_at, D.delivered_at)
            .where(D.tenant_id == tenant_id, D.task_id == task_id)
            .order_by(D.created_at, D.id)
        )
        return [
            DeliveryRecord(
                delivery=Delivery(*row[:7]),
                status=DeliveryStatus(row.status),
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                created_at=row.created_at,
                delivered_at=row.delivered_at,
            )
            for row in self._c.execute(query)
        ]
