"""Deleting what only mattered while tasks ran: old stream events, journals, webhook rows.

The audit log is the permanent record. The event stream (for live views and SSE resume),
the tool journal (for retries of an unfinished task) and delivered or abandoned webhook
calls would otherwise grow by several rows per task forever.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, exists, func, select

from baton.domain.tasks import TaskStatus
from baton.store.tables import AgentTaskRow, TaskEventRow, ToolJournalRow, WebhookDeliveryRow
from baton.store.webhooks import DeliveryStatus

_TERMINAL = [s.value for s in TaskStatus if s.terminal]
_FINISHED_DELIVERIES = [DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value]


def prune_events(conn: Connection, before: datetime, *, batch: int = 5000) -> int:
    """Delete up to ``batch`` of the oldest stream events created before ``before``.

    Walks from the oldest id (ids grow with time), so no index on time is needed; the
    newest event is always kept, so ids never restart and an SSE client's Last-Event-ID
    stays meaningful.
    """
    e = TaskEventRow
    newest = conn.execute(select(func.max(e.id))).scalar()
    if newest is None:
        return 0
    last = None
    for row in conn.execute(select(e.id, e.created_at).order_by(e.id).limit(batch)):
        if row.created_at >= before or row.id >= newest:
            break  # a later old event (writers' clocks differ slightly) waits its turn
        last = row.id
    if last is None:
        return 0
    result = conn.execute(delete(e).where(e.id <= last))
    return int(result.rowcount or 0)


def prune_journal(conn: Connection, before: datetime) -> int:
    """Delete journalled tool results of tasks that finished, recorded before ``before``."""
    j, t = ToolJournalRow, AgentTaskRow
    finished = exists().where(t.id == j.task_id, t.status.in_(_TERMINAL))
    result = conn.execute(delete(j).where(j.created_at < before, finished))
    return int(result.rowcount or 0)


def prune_deliveries(conn: Connection, before: datetime) -> int:
    """Delete webhook calls delivered or given up on, last tried before ``before``."""
    d = WebhookDeliveryRow
    result = conn.execute(
        delete(d).where(d.status.in_(_FINISHED_DELIVERIES), d.next_attempt_at < before)
    )
    return int(result.rowcount or 0)
