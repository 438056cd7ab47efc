"""The queue's transitions, each one transaction with its audit entries and events.

Every state change of a task commits together with a ``status_change`` audit entry (and
the ``result`` or ``error`` entry that explains it) and a row in the event stream, so the
log, the stream and the table never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from baton.domain.audit import AuditEntryType
from baton.domain.audit.log import AuditEvent
from baton.domain.tasks import RetryPolicy, Task, TaskStatus
from baton.queue.batcher import Batcher
from baton.queue.signals import (
    CANCEL,
    EVENTS,
    TASK_AVAILABLE,
    Signals,
    notify_in,
    tenants_value,
)
from baton.services.audit import AuditService
from baton.store.database import Database
from baton.store.tasks import NewTask, Outcome, TaskEvent, TaskRepository
from baton.store.webhooks import WebhookRepository

log = logging.getLogger(__name__)


def status_event(
    task: Task, previous: str | None, actor: str | None = None, **details: Any
) -> AuditEvent:
    """The audit entry of a status change."""
    payload = {"from": previous, "to": task.status.value, "attempt": task.retry_count + 1}
    payload.update({k: v for k, v in details.items() if v is not None})
    return AuditEvent(
        task.tenant_id,
        AuditEntryType.STATUS_CHANGE,
        payload,
        actor=actor,
        agent_id=task.agent_id,
        task_id=task.id,
    )


def _stream_event(task: Task, **extra: Any) -> tuple[str, str, str, dict[str, Any]]:
    data = {"status": task.status.value, "retry_count": task.retry_count, **extra}
    return (task.tenant_id, task.id, "status", data)


@dataclass(frozen=True, slots=True)
class QueueLimits:
    """Lease and crash bookkeeping shared by every worker."""

    lease: timedelta = timedelta(seconds=30)
    max_crashes: int = 3
    tenant_max_running: int | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class TaskQueue:
    """Submit, claim, renew, finish, release, reap and cancel tasks."""

    def __init__(
        self, db: Database, audit: AuditService, signals: Signals, limits: QueueLimits
    ) -> None:
        self._db = db
        self._audit = audit
        self.signals = signals
        self.limits = limits
        self._submitter: Batcher[tuple[NewTask, str | None], tuple[Task, bool]] = Batcher(
            self.submit_many, isolate=True
        )
        self.on_webhooks: Callable[[], None] | None = None
        """Called after a transition committed webhook deliveries (to send them soon)."""

    def _after(self, *kinds: tuple[str, str]) -> None:
        for kind, value in kinds:
            self.signals.dispatch(kind, value)

    def _webhooks_owed(self, owed: int) -> None:
        if owed and self.on_webhooks is not None:
            self.on_webhooks()

    async def submit(self, new: NewTask, actor: str | None) -> tuple[Task, bool]:
        """Store a task (or find its idempotent twin); True when it was created now.

        Submissions that arrive together share a transaction.
        """
        submitted = await self._submitter.submit((new, actor))
        assert submitted is not None
        return submitted

    async def submit_many(
        self, items: Sequence[tuple[NewTask, str | None]]
    ) -> list[tuple[Task, bool]]:
        """Store many tasks in one transaction; (task, created now) for each."""

        def write(conn: Connection) -> list[tuple[Task, bool]]:
            repo = TaskRepository(conn)
            stored = repo.insert([new for new, _ in items])
            created = [
                (t, actor) for (t, new), (_, actor) in zip(stored, items, strict=True) if new
            ]
            if created:
                self._announce(conn, repo, created)
            return stored

        stored = await self._db.run(write)
        if any(created for _, created in stored):
            tenants = tenants_value(t.tenant_id for t, created in stored if created)
            self._after((TASK_AVAILABLE, ""), (EVENTS, tenants))
        return stored

    def _announce(
        self, conn: Connection, repo: TaskRepository, created: list[tuple[Task, str | None]]
    ) -> None:
        events = [status_event(t, None, actor, task_type=t.task_type) for t, actor in created]
        self._audit.append_sync(conn, events)
        repo.add_events([_stream_event(t) for t, _ in created])
        notify_in(conn, TASK_AVAILABLE)
        notify_in(conn, EVENTS, tenants_value(t.tenant_id for t, _ in created))

    async def claim(self, worker_id: str, limit: int) -> list[Task]:
        """Lease up to ``limit`` tasks to a worker."""

        def write(conn: Connection) -> list[Task]:
            repo = TaskRepository(conn)
            tasks = repo.claim(worker_id, limit, self.limits.lease, self.limits.tenant_max_running)
            if tasks:
                self._audit.append_sync(
                    conn, [status_event(t, "submitted", worker=worker_id) for t in tasks]
                )
                repo.add_events([_stream_event(t, worker=worker_id) for t in tasks])
                notify_in(conn, EVENTS, tenants_value(t.tenant_id for t in tasks))
            return tasks

        tasks = await self._db.run(write)
        if tasks:
            self._after((EVENTS, tenants_value(t.tenant_id for t in tasks)))
        return tasks

    async def renew(self, worker_id: str) -> list[tuple[str, bool]]:
        """Extend a worker's leases; (task id, cancel requested) for each still held."""
        return await self._db.run(lambda c: TaskRepository(c).renew(worker_id, self.limits.lease))

    async def finish(self, outcomes: Sequence[Outcome]) -> list[Task]:
        """Write attempt outcomes still covered by their lease; the rest are fenced off."""

        def write(conn: Connection) -> tuple[list[Task], int]:
            repo = TaskRepository(conn)
            written = repo.finish(outcomes)
            by_id = {o.task_id: o for o in outcomes}
            entries: list[AuditEvent] = []
            for task in written:
                outcome = by_id[task.id]
                entries += _outcome_entries(task, outcome)
            self._audit.append_sync(conn, entries)
            repo.add_events(
                [_stream_event(t, error=by_id[t.id].error, result=t.result) for t in written]
            )
            if written:
                notify_in(conn, EVENTS, tenants_value(t.tenant_id for t in written))
                if any(t.status is TaskStatus.SUBMITTED for t in written):
                    notify_in(conn, TASK_AVAILABLE)
            return written, WebhookRepository(conn).enqueue(written)

        written, owed = await self._db.run(write)
        self._webhooks_owed(owed)
        fenced = len(outcomes) - len(written)
        if fenced:
            log.warning("%d outcome(s) fenced off: their lease was lost", fenced)
        if written:
            tenants = tenants_value(t.tenant_id for t in written)
            self._after((EVENTS, tenants), (TASK_AVAILABLE, ""))
        return written

    async def release(self, worker_id: str, task_ids: Sequence[str]) -> list[Task]:
        """Give leases back without counting an attempt (graceful shutdown)."""

        def write(conn: Connection) -> list[Task]:
            repo = TaskRepository(conn)
            released = repo.release(worker_id, task_ids)
            self._audit.append_sync(
                conn, [status_event(t, "running", reason="worker shut down") for t in released]
            )
            repo.add_events([_stream_event(t) for t in released])
            if released:
                notify_in(conn, TASK_AVAILABLE)
            return released

        released = await self._db.run(write)
        if released:
            tenants = tenants_value(t.tenant_id for t in released)
            self._after((TASK_AVAILABLE, ""), (EVENTS, tenants))
        return released

    async def reap(self) -> int:
        """Re-queue tasks whose worker vanished; fail those that keep killing workers."""

        def write(conn: Connection) -> tuple[int, int]:
            repo = TaskRepository(conn)
            expired = repo.expired()
            entries: list[AuditEvent] = []
            failed: list[Task] = []
            for task in expired:
                crashes = task.crash_count + 1
                if crashes >= self.limits.max_crashes:
                    error = f"worker lost {crashes} times running this task; giving up"
                    repo.fail_crashed(task, error)
                    now = repo.get(None, task.id)
                    assert now is not None
                    entries += [
                        AuditEvent(
                            task.tenant_id,
                            AuditEntryType.ERROR,
                            {"error": error},
                            agent_id=task.agent_id,
                            task_id=task.id,
                        ),
                        status_event(now, "running", reason="lease expired"),
                    ]
                    repo.add_events([_stream_event(now, error=error)])
                    failed.append(now)
                else:
                    repo.requeue_crashed(task, self.limits.retry.delay(crashes))
                    now = repo.get(None, task.id)
                    assert now is not None
                    entries.append(status_event(now, "running", reason="lease expired"))
                    repo.add_events([_stream_event(now)])
            self._audit.append_sync(conn, entries)
            if expired:
                notify_in(conn, TASK_AVAILABLE)
                notify_in(conn, EVENTS)
            return len(expired), WebhookRepository(conn).enqueue(failed)

        reaped, owed = await self._db.run(write)
        self._webhooks_owed(owed)
        if reaped:
            log.warning("re-queued or failed %d task(s) whose lease expired", reaped)
            self._after((TASK_AVAILABLE, ""), (EVENTS, ""))
        return reaped

    async def cancel(self, tenant_id: str, task_id: str, actor: str | None) -> Task | None:
        """Cancel a queued task now; ask a running one's worker to stop (within a second)."""

        def write(conn: Connection) -> tuple[Task | None, int]:
            repo = TaskRepository(conn)
            before = repo.get(tenant_id, task_id)
            task = repo.request_cancel(tenant_id, task_id)
            if task is None or before is None or before.status.terminal:
                return task, 0
            owed = 0
            if task.status is TaskStatus.CANCELLED:
                event = status_event(task, before.status.value, actor, reason="cancelled")
                self._audit.append_sync(conn, [event])
                repo.add_events([_stream_event(task)])
                owed = WebhookRepository(conn).enqueue([task])
            notify_in(conn, CANCEL, task_id)
            return task, owed

        task, owed = await self._db.run(write)
        self._webhooks_owed(owed)
        if task is not None:
            self._after((CANCEL, task_id))
        return task

    async def get(self, tenant_id: str | None, task_id: str) -> Task | None:
        """One task."""
        return await self._db.run(lambda c: TaskRepository(c).get(tenant_id, task_id), write=False)

    async def events_after(
        self, tenant_id: str, after_id: int, *, task_id: str | None, limit: int = 500
    ) -> list[TaskEvent]:
        """Stream rows after ``after_id``."""
        return await self._db.run(
            lambda c: TaskRepository(c).events_after(
                tenant_id, after_id, task_id=task_id, limit=limit
            ),
            write=False,
        )

    async def add_step(self, task: Task, data: dict[str, Any]) -> None:
        """Publish a step of a running task on the event stream."""

        def write(conn: Connection) -> None:
            TaskRepository(conn).add_events([(task.tenant_id, task.id, "step", data)])
            notify_in(conn, EVENTS, task.tenant_id)

        await self._db.run(write)
        self._after((EVENTS, task.tenant_id))

    async def journal(self, task_id: str) -> dict[str, dict[str, Any]]:
        """The task's tool calls completed in earlier attempts."""
        return await self._db.run(lambda c: TaskRepository(c).journal(task_id), write=False)

    async def record_tool_call(self, task_id: str, key: str, result: dict[str, Any]) -> None:
        """Journal a completed tool call so a retry will not run it again."""
        await self._db.run(lambda c: TaskRepository(c).record_tool_call(task_id, key, result))


def _outcome_entries(task: Task, outcome: Outcome) -> list[AuditEvent]:
    entries: list[AuditEvent] = []
    if task.status is TaskStatus.COMPLETED:
        entries.append(
            AuditEvent(
                task.tenant_id,
                AuditEntryType.RESULT,
                {"output": (outcome.result or {}).get("output")},
                agent_id=task.agent_id,
                task_id=task.id,
            )
        )
    elif outcome.error:
        entries.append(
            AuditEvent(
                task.tenant_id,
                AuditEntryType.ERROR,
                {"error": outcome.error, "will_retry": task.status is TaskStatus.SUBMITTED},
                agent_id=task.agent_id,
                task_id=task.id,
            )
        )
    entries.append(status_event(task, "running"))
    return entries
