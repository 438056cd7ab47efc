"""The task queue's tables: submit, claim under a lease, renew, finish (fenced), reap.

Synchronous Core over one transaction's connection, run through ``Database.run``. Claims
use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the writer's ``BEGIN IMMEDIATE``
already makes a claim exclusive. Lease times come from the database clock on PostgreSQL
(many machines share it) and from this process's clock on SQLite (one machine).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from baton.domain.tasks import Task, TaskStatus
from baton.store.columns import UtcDateTime, clock_expressions, utcnow
from baton.store.direct import DirectStatement
from baton.store.fair_claim import TenantClaims
from baton.store.tables import AgentTaskRow, Base, TaskEventRow, ToolJournalRow

T = AgentTaskRow
_COLUMNS = [c for c in AgentTaskRow.__table__.columns]
# Every transition and step writes these: they run on the driver cursor (store/direct.py).
_INSERT_EVENT = DirectStatement(
    Base.metadata.tables["task_events"].insert().inline(),
    columns=["tenant_id", "task_id", "type", "data", "created_at"],
)
_JOURNAL = Base.metadata.tables["task_tool_journal"]
_RECORD_TOOL_CALL = {
    "postgresql": DirectStatement(pg_insert(_JOURNAL).on_conflict_do_nothing()),
    "sqlite": DirectStatement(sqlite_insert(_JOURNAL).on_conflict_do_nothing()),
}


@functools.cache
def _statements(pg: bool) -> dict[str, DirectStatement]:
    """The hot path's statements, built once per dialect, run on the driver cursor.

    'now' is the database clock on PostgreSQL and a bound value (this process's clock)
    on SQLite; building a statement per call cost more than running it.
    """
    now, lease_until, retry_at = clock_expressions(pg)
    ids: Any = bindparam("ids", expanding=True)
    full_agents: Any = bindparam("full_agents", expanding=True)
    full_tenants: Any = bindparam("full_tenants", expanding=True)
    # The status is written into the SQL, not bound, so that a planner can prove the
    # claimable partial index applies even to a generic (prepared) plan.
    scan = (
        select(T.id, T.tenant_id, T.agent_id, T.agent_cap)
        .where(
            T.status == literal_column(f"'{TaskStatus.SUBMITTED.value}'"),
            T.available_at <= now,
            or_(T.agent_id.is_(None), T.agent_id.not_in(full_agents)),
            T.tenant_id.not_in(full_tenants),
        )
        .order_by(T.rank, T.available_at, T.id)
        .limit(bindparam("limit"))
    )
    if pg:
        scan = scan.with_for_update(skip_locked=True)
    claim = (
        update(T)
        .where(T.id.in_(ids), T.status == TaskStatus.SUBMITTED.value)
        .values(
            status=TaskStatus.RUNNING.value,
            lease_owner=bindparam("worker"),
            lease_epoch=T.lease_epoch + 1,
            lease_expires_at=lease_until,
            started_at=func.coalesce(T.started_at, now),
        )
        .returning(*_COLUMNS)
    )
    table = Base.metadata.tables["agent_tasks"]
    done = (
        table.update()
        .where(table.c.id == bindparam("task_id"))
        .values(
            status=bindparam("new_status"),
            lease_owner=None,
            lease_expires_at=None,
            error=bindparam("error"),
            completed_at=now,
            result=bindparam("result", type_=table.c.result.type),
        )
    )
    retry = (
        table.update()
        .where(table.c.id == bindparam("task_id"))
        .values(
            status=TaskStatus.SUBMITTED.value,
            lease_owner=None,
            lease_expires_at=None,
            error=bindparam("error"),
            available_at=retry_at,
            retry_count=table.c.retry_count + bindparam("bump"),
        )
    )
    held = select(T.id, T.lease_epoch).where(T.id.in_(ids), T.status == TaskStatus.RUNNING.value)
    if pg:
        held = held.with_for_update()
    running = T.status == TaskStatus.RUNNING.value
    count = func.count()
    statements = {
        "full_agents": select(T.agent_id)
        .where(running, T.agent_cap.is_not(None))
        .group_by(T.agent_id, T.agent_cap)
        .having(count >= T.agent_cap),
        "full_tenants": select(T.tenant_id)
        .where(running)
        .group_by(T.tenant_id)
        .having(count >= bindparam("cap")),
        "scan": scan,
        "running_by_agent": select(T.agent_id, func.count())
        .where(running, T.agent_id.in_(ids))
        .group_by(T.agent_id),
        "running_by_tenant": select(T.tenant_id, func.count())
        .where(running, T.tenant_id.in_(ids))
        .group_by(T.tenant_id),
        "claim": claim,
        "done": done,
        "retry": retry,
        "held": held,
        "by_ids": select(*_COLUMNS).where(T.id.in_(ids)),
    }
    return {name: DirectStatement(statement) for name, statement in statements.items()}


@dataclass(frozen=True, slots=True)
class NewTask:
    """What submission stores."""

    id: str
    tenant_id: str
    kind: str
    agent_id: str | None
    agent_version: int | None
    task_type: str
    input: dict[str, Any]
    priority: int
    max_retries: int
    timeout_s: float | None
    idempotency_key: str | None
    created_by: str | None
    agent_cap: int | None = None
    webhook_url: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended, to be written only if the lease (epoch) is still held."""

    task_id: str
    epoch: int
    status: TaskStatus  # completed, failed, cancelled, or submitted for a retry
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_in: float | None = None  # for a retry: seconds until claimable again
    count_retry: bool = False


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """A row of the event stream."""

    id: int
    tenant_id: str
    task_id: str
    type: str
    data: dict[str, Any]
    created_at: datetime


_TASKS = Base.metadata.tables["agent_tasks"]
_ALL = [c.name for c in _COLUMNS]
_INSERT_TASK = DirectStatement(_TASKS.insert(), columns=_ALL)
# A twin (same tenant and idempotency key) is skipped; the count of rows written tells
# whether any was, so the common case needs no RETURNING and no second read.
_INSERT_IGNORING_TWINS = {
    "sqlite": DirectStatement(sqlite_insert(_TASKS).on_conflict_do_nothing(), columns=_ALL),
    "postgresql": DirectStatement(pg_insert(_TASKS).on_conflict_do_nothing(), columns=_ALL),
}
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


def _values(new: NewTask) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new.id,
        "tenant_id": new.tenant_id,
        "kind": new.kind,
        "agent_id": new.agent_id,
        "agent_version": new.agent_version,
        "task_type": new.task_type,
        "input": new.input,
        "status": TaskStatus.SUBMITTED.value,
        "priority": new.priority,
        "rank": -new.priority,
        "result": None,
        "error": None,
        "retry_count": 0,
        "max_retries": new.max_retries,
        "crash_count": 0,
        "timeout_s": new.timeout_s,
        "agent_cap": new.agent_cap,
        "idempotency_key": new.idempotency_key,
        "created_by": new.created_by,
        "created_at": now,
        "started_at": None,
        "completed_at": None,
        "available_at": now,
        "lease_owner": None,
        "lease_epoch": 0,
        "lease_expires_at": None,
        "cancel_requested": False,
        "webhook_url": new.webhook_url,
    }


def _task_of(values: dict[str, Any]) -> Task:
    """The Task a freshly inserted row is (no need to read it back)."""
    return _task(SimpleNamespace(**values))


def _task(row: Any) -> Task:
    return Task(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        agent_id=row.agent_id,
        agent_version=row.agent_version,
        task_type=row.task_type,
        input=row.input,
        status=TaskStatus(row.status),
        priority=row.priority,
        result=row.result,
        error=row.error,
        retry_count=row.retry_count,
        max_retries=row.max_retries,
        crash_count=row.crash_count,
        timeout_s=row.timeout_s,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        lease_owner=row.lease_owner,
        lease_epoch=row.lease_epoch,
        cancel_requested=row.cancel_requested,
    )


class TaskRepository:
    """Reads and writes the queue inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._pg = conn.dialect.name == "postgresql"

    def now(self, plus: timedelta | None = None) -> ColumnElement[datetime]:
        """'Now' (plus an interval) as a SQL value: the database clock on PostgreSQL."""
        if self._pg:
            base: ColumnElement[datetime] = func.clock_timestamp()
            return base + literal(plus) if plus else base
        moment = utcnow() + (plus or timedelta())
        return literal(moment, UtcDateTime())

    def insert(self, news: Sequence[NewTask]) -> list[tuple[Task, bool]]:
        """Store submitted tasks in one statement; each with its flag "created now".

        A task whose idempotency key the tenant already used (earlier, concurrently, or
        earlier in the same batch) is not stored again: the first one is returned.
        """
        rows = [_values(new) for new in news]
        keyed = [r for r in rows if r["idempotency_key"] is not None]
        if not keyed:
            _INSERT_TASK.execute_many(self._c, rows)
            return [(_task_of(r), True) for r in rows]
        written = _INSERT_IGNORING_TWINS[self._c.dialect.name].execute_many(self._c, rows)
        if written == len(rows):  # the common case: no key was seen before
            return [(_task_of(r), True) for r in rows]
        created = {t.id for t in self._get_many({r["id"] for r in rows})}
        stored = self._ids_by_key([r for r in keyed if r["id"] not in created])
        twins = set(stored.values()) - created
        earlier = {t.id: t for t in self._get_many(twins)} if twins else {}
        out: list[tuple[Task, bool]] = []
        for row in rows:
            if row["id"] in created:
                out.append((_task_of(row), True))
            else:
                out.append((earlier[stored[(row["tenant_id"], row["idempotency_key"])]], False))
        return out

    def _ids_by_key(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str]:
        by_tenant: dict[str, set[str]] = {}
        for row in rows:
            by_tenant.setdefault(row["tenant_id"], set()).add(row["idempotency_key"])
        found: dict[tuple[str, str], str] = {}
        for tenant_id, keys in by_tenant.items():
            query = select(T.id, T.idempotency_key).where(
                T.tenant_id == tenant_id, T.idempotency_key.in_(sorted(keys))
            )
            for task_id, key in self._c.execute(query):
                found[(tenant_id, str(key))] = task_id
        return found

    def _get_many(self, task_ids: set[str]) -> list[Task]:
        query = select(*_COLUMNS).where(T.id.in_(sorted(task_ids)))
        return [_task(row) for row in self._c.execute(query)]

    def by_idempotency_key(self, tenant_id: str, key: str) -> Task | None:
        """The tenant's task submitted with this key, if any."""
        query = select(*_COLUMNS).where(T.tenant_id == tenant_id, T.idempotency_key == key)
        row = self._c.execute(query).first()
        return _task(row) if row else None

    def get(self, tenant_id: str | None, task_id: str) -> Task | None:
        """A task (of the tenant, when one is given)."""
        query = select(*_COLUMNS).where(T.id == task_id)
        if tenant_id is not None:
            query = query.where(T.tenant_id == tenant_id)
        row = self._c.execute(query).first()
        return _task(row) if row else None

    def newest(
        self,
        tenant_id: str,
        *,
        agent_id: str | None,
        status: str | None,
        before: str | None,
        limit: int,
    ) -> list[Task]:
        """The tenant's tasks, newest first."""
        query = select(*_COLUMNS).where(T.tenant_id == tenant_id)
        if agent_id is not None:
            query = query.where(T.agent_id == agent_id)
        if status is not None:
            query = query.where(T.status == status)
        if before is not None:
            query = query.where(T.id < before)
        rows = self._c.execute(query.order_by(T.id.desc()).limit(limit))
        return [_task(r) for r in rows]

    def claim(
        self, worker_id: str, limit: int, lease: timedelta, tenant_cap: int | None = None
    ) -> list[Task]:
        """Lease up to ``limit`` claimable tasks to ``worker_id``, fairly across tenants.

        Within a tenant the best (highest priority, then oldest) go first; across tenants
        the slots go to those running the fewest tasks (``store.fair_claim``).

        Tasks whose agent already runs ``agent_cap`` tasks, or whose tenant runs
        ``tenant_cap``, wait; the counts hold across every worker (on PostgreSQL claims of
        the same capped agent or tenant take turns on an advisory lock).
        """
        statements = _statements(self._pg)
        params: dict[str, Any] = {"worker": worker_id}
        if self._pg:
            params["lease"] = lease
        else:
            now = utcnow()
            params.update(now=now, lease_until=now + lease)
        # Agents and tenants already at their cap are skipped by the scan itself, so their
        # queued tasks cannot crowd out everyone else's.
        full_agents = [r[0] for r in statements["full_agents"].execute(self._c, {})]
        full_tenants = (
            [r[0] for r in statements["full_tenants"].execute(self._c, {"cap": tenant_cap})]
            if tenant_cap
            else []
        )
        now_params = {k: v for k, v in params.items() if k == "now"}
        fair = TenantClaims(self._c, self._pg)
        tenants = fair.waiting(now_params, full_tenants)
        if not tenants:
            return []
        if len(tenants) == 1:
            scan_params = {**now_params, "full_agents": full_agents, "limit": limit}
            scan_params["full_tenants"] = full_tenants
            rows = statements["scan"].execute(self._c, scan_params)
        else:
            found = statements["running_by_tenant"].execute(self._c, {"ids": tenants})
            running = {tenant: int(n) for tenant, n in found}
            rows = fair.rows(tenants, running, limit, tenant_cap, now_params, full_agents)
        if any(r.agent_cap for r in rows) or tenant_cap:
            chosen = self._within_caps(rows, limit, tenant_cap)
        else:
            chosen = [r.id for r in rows[:limit]]
        if not chosen:
            return []
        claimed = statements["claim"].execute(self._c, {**params, "ids": chosen})
        return sorted((_task(r) for r in claimed), key=lambda t: chosen.index(t.id))

    def _within_caps(self, rows: Sequence[Any], limit: int, tenant_cap: int | None) -> list[str]:
        statements = _statements(self._pg)
        capped_agents = sorted({r.agent_id for r in rows if r.agent_cap and r.agent_id})
        tenants = sorted({r.tenant_id for r in rows}) if tenant_cap else []
        if self._pg:
            for key in [f"agent:{a}" for a in capped_agents] + [f"tenant:{t}" for t in tenants]:
                self._c.execute(_ADVISORY_LOCK, {"key": key})
        agent_running: dict[str, int] = {}
        if capped_agents:
            found = statements["running_by_agent"].execute(self._c, {"ids": capped_agents})
            agent_running = {agent: int(n) for agent, n in found}
        tenant_running: dict[str, int] = {}
        if tenants:
            found = statements["running_by_tenant"].execute(self._c, {"ids": tenants})
            tenant_running = {tenant: int(n) for tenant, n in found}
        chosen: list[str] = []
        for r in rows:
            if len(chosen) >= limit:
                break
            if r.agent_cap and agent_running.get(r.agent_id, 0) >= r.agent_cap:
                continue
            if tenant_cap and tenant_running.get(r.tenant_id, 0) >= tenant_cap:
                continue
            chosen.append(r.id)
            if r.agent_cap:
                agent_running[r.agent_id] = agent_running.get(r.agent_id, 0) + 1
            tenant_running[r.tenant_id] = tenant_running.get(r.tenant_id, 0) + 1
        return chosen

    def renew(self, worker_id: str, lease: timedelta) -> list[tuple[str, bool]]:
        """Extend every lease ``worker_id`` holds (one statement for the whole process).

        Returns (task id, cancel requested) for each lease still held.
        """
        statement = (
            update(T)
            .where(T.lease_owner == worker_id, T.status == TaskStatus.RUNNING.value)
            .values(lease_expires_at=self.now(lease))
            .returning(T.id, T.cancel_requested)
        )
        return [(r.id, r.cancel_requested) for r in self._c.execute(statement)]

    def finish(self, outcomes: Sequence[Outcome]) -> list[Task]:
        """Write attempt outcomes whose lease epoch still matches (fencing).

        A worker that lost its lease (it was reaped and the task re-leased) finds its
        epoch stale, and nothing it reports is written. Returns the tasks written.
        """
        if not outcomes:
            return []
        statements = _statements(self._pg)
        rows = statements["held"].execute(self._c, {"ids": [o.task_id for o in outcomes]})
        held = {(r.id, r.lease_epoch) for r in rows}
        written = [o for o in outcomes if (o.task_id, o.epoch) in held]
        if not written:
            return []
        now = utcnow()
        finished = [o for o in written if o.status is not TaskStatus.SUBMITTED]
        retried = [o for o in written if o.status is TaskStatus.SUBMITTED]
        if finished:
            done: list[dict[str, Any]] = [
                {
                    "task_id": o.task_id,
                    "new_status": o.status.value,
                    "error": o.error,
                    "result": o.result,
                    "now": now,
                }
                for o in finished
            ]
            statements["done"].execute_many(self._c, [self._dialect_params(r) for r in done])
        for o in retried:
            delay = timedelta(seconds=o.retry_in or 0)
            row: dict[str, Any] = {
                "task_id": o.task_id,
                "error": o.error,
                "bump": int(o.count_retry),
            }
            row.update({"retry": delay} if self._pg else {"retry_at": now + delay})
            statements["retry"].execute(self._c, row)
        written_ids = [o.task_id for o in written]
        by_ids = statements["by_ids"].execute(self._c, {"ids": written_ids})
        return [_task(r) for r in by_ids]

    def _dialect_params(self, row: dict[str, Any]) -> dict[str, Any]:
        if self._pg:
            row.pop("now", None)  # PostgreSQL statements read the database clock
        return row

    def release(self, worker_id: str, task_ids: Sequence[str]) -> list[Task]:
        """Hand leases back on shutdown: claimable again at once, no attempt counted."""
        if not task_ids:
            return []
        statement = (
            update(T)
            .where(
                T.lease_owner == worker_id,
                T.id.in_(task_ids),
                T.status == TaskStatus.RUNNING.value,
            )
            .values(
                status=TaskStatus.SUBMITTED.value,
                lease_owner=None,
                lease_expires_at=None,
                available_at=self.now(),
            )
            .returning(*_COLUMNS)
        )
        return [_task(r) for r in self._c.execute(statement)]

    def expired(self, limit: int = 500) -> list[Task]:
        """Running tasks whose lease ran out (their worker died or stalled)."""
        query = (
            select(*_COLUMNS)
            .where(T.status == TaskStatus.RUNNING.value, T.lease_expires_at < self.now())
            .limit(limit)
        )
        if self._pg:
            query = query.with_for_update(skip_locked=True)
        return [_task(r) for r in self._c.execute(query)]

    def requeue_crashed(self, task: Task, retry_in: float) -> None:
        """Count a crash and make the task claimable again after ``retry_in`` seconds."""
        self._c.execute(
            update(T)
            .where(T.id == task.id, T.lease_epoch == task.lease_epoch)
            .values(
                status=TaskStatus.SUBMITTED.value,
                crash_count=T.crash_count + 1,
                lease_owner=None,
                lease_expires_at=None,
                available_at=self.now(timedelta(seconds=retry_in)),
            )
        )

    def fail_crashed(self, task: Task, error: str) -> None:
        """Give up on a task that keeps killing its workers."""
        self._c.execute(
            update(T)
            .where(T.id == task.id, T.lease_epoch == task.lease_epoch)
            .values(
                status=TaskStatus.FAILED.value,
                crash_count=T.crash_count + 1,
                lease_owner=None,
                lease_expires_at=None,
                completed_at=self.now(),
                error=error,
            )
        )

    def request_cancel(self, tenant_id: str, task_id: str) -> Task | None:
        """Cancel a queued task at once; flag a running one for its worker to stop."""
        task = self.get(tenant_id, task_id)
        if task is None or task.status.terminal:
            return task
        if task.status is TaskStatus.SUBMITTED:
            self._c.execute(
                update(T)
                .where(T.id == task_id, T.status == TaskStatus.SUBMITTED.value)
                .values(
                    status=TaskStatus.CANCELLED.value,
                    cancel_requested=True,
                    completed_at=self.now(),
                    error="cancelled before it started",
                )
            )
        else:
            self._c.execute(update(T).where(T.id == task_id).values(cancel_requested=True))
        return self.get(tenant_id, task_id)

    def add_events(self, events: Sequence[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Append (tenant, task, type, data) rows to the event stream."""
        if not events:
            return
        now = utcnow()
        _INSERT_EVENT.execute_many(
            self._c,
            [
                {"tenant_id": t, "task_id": k, "type": ty, "data": d, "created_at": now}
                for t, k, ty, d in events
            ],
        )

    def events_after(
        self, tenant_id: str, after_id: int, *, task_id: str | None, limit: int
    ) -> list[TaskEvent]:
        """The tenant's (or one task's) events with ids above ``after_id``."""
        e = TaskEventRow
        query = select(e.id, e.tenant_id, e.task_id, e.type, e.data, e.created_at).where(
            e.tenant_id == tenant_id, e.id > after_id
        )
        if task_id is not None:
            query = query.where(e.task_id == task_id)
        rows = self._c.execute(query.order_by(e.id).limit(limit))
        return [TaskEvent(r.id, r.tenant_id, r.task_id, r.type, r.data, r.created_at) for r in rows]

    def journal(self, task_id: str) -> dict[str, dict[str, Any]]:
        """The task's completed tool calls by call key."""
        j = ToolJournalRow
        rows = self._c.execute(select(j.call_key, j.result).where(j.task_id == task_id))
        return {r.call_key: r.result for r in rows}

    def record_tool_call(self, task_id: str, call_key: str, result: dict[str, Any]) -> None:
        """Journal a completed tool call (the first record of a key wins)."""
        _RECORD_TOOL_CALL[self._c.dialect.name].execute(
            self._c,
            {"task_id": task_id, "call_key": call_key, "result": result, "created_at": utcnow()},
        )
