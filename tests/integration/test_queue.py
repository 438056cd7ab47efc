"""The durable queue itself: leases, fencing, reaping, shutdown, exactly-once completion."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from baton.domain.audit import AuditEntryType, CheckpointSigner
from baton.domain.audit.log import AuditFilter, AuditSearch
from baton.domain.ids import new_id
from baton.domain.tasks import RetryPolicy, Task, TaskStatus
from baton.queue.batcher import Batcher
from baton.queue.signals import Signals
from baton.queue.task_queue import QueueLimits, TaskQueue
from baton.queue.worker import TaskContext, Worker, WorkerSettings
from baton.services.audit import AuditService
from baton.store.database import Database
from baton.store.tasks import NewTask, Outcome

TENANT = "tenant-q"


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[TaskQueue]:
    audit = AuditService(database, CheckpointSigner.generate())
    limits = QueueLimits(lease=timedelta(seconds=30), max_crashes=3, retry=RetryPolicy(0.01, 0.05))
    yield TaskQueue(database, audit, Signals(), limits)


def _new(a: int = 1, b: int = 2, kind: str = "add") -> NewTask:
    return NewTask(
        id=new_id(),
        tenant_id=TENANT,
        kind=kind,
        agent_id=None,
        agent_version=None,
        task_type="add",
        input={"a": a, "b": b},
        priority=0,
        max_retries=3,
        timeout_s=None,
        idempotency_key=None,
        created_by=None,
    )


async def _expire_leases(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE agent_tasks SET lease_expires_at = :t WHERE status = 'running'"),
            {"t": "2000-01-01 00:00:00"} if db.is_sqlite else {"t": _past()},
        )


def _past() -> Any:
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


async def _statuses(queue: TaskQueue, db: Database, task_id: str) -> list[str]:
    audit = AuditService(db, CheckpointSigner.generate())
    page = await audit.search(
        TENANT, AuditSearch(AuditFilter(task_id=task_id), limit=500, newest_first=False)
    )
    return [
        e.payload["to"]
        for e in page.items
        if e.record.entry_type is AuditEntryType.STATUS_CHANGE and e.payload
    ]


async def test_a_stale_worker_cannot_commit_its_result(
    queue: TaskQueue, database: Database
) -> None:
    task, _ = await queue.submit(_new(), actor=None)
    (claimed_a,) = await queue.claim("worker-a", 10)
    assert claimed_a.lease_epoch == 1
    await _expire_leases(database)  # worker A stalls past its lease
    assert await queue.reap() == 1
    await asyncio.sleep(0.06)  # past the retry backoff
    (claimed_b,) = await queue.claim("worker-b", 10)
    assert claimed_b.id == task.id and claimed_b.lease_epoch == 2
    stale = Outcome(task.id, 1, TaskStatus.COMPLETED, result={"output": "from A"})
    assert await queue.finish([stale]) == []  # fenced off
    current = await queue.get(TENANT, task.id)
    assert current is not None and current.status is TaskStatus.RUNNING
    assert current.lease_owner == "worker-b"
    fresh = Outcome(task.id, 2, TaskStatus.COMPLETED, result={"output": "from B"})
    (done,) = await queue.finish([fresh])
    assert done.status is TaskStatus.COMPLETED and done.result == {"output": "from B"}
    assert done.crash_count == 1 and done.retry_count == 0
    assert await queue.finish([stale]) == []  # and never later either
    assert (await _statuses(queue, database, task.id)).count("completed") == 1


async def test_a_task_that_keeps_killing_workers_fails(
    queue: TaskQueue, database: Database
) -> None:
    task, _ = await queue.submit(_new(), actor=None)
    for attempt in range(3):
        await asyncio.sleep(0.06)
        claimed = await queue.claim(f"w{attempt}", 10)
        assert [t.id for t in claimed] == [task.id]
        await _expire_leases(database)
        assert await queue.reap() == 1
    final = await queue.get(TENANT, task.id)
    assert final is not None and final.status is TaskStatus.FAILED
    assert final.crash_count == 3
    assert "worker lost 3 times" in (final.error or "")
    assert await queue.claim("w-last", 10) == []


async def add(task: Task, ctx: TaskContext) -> dict[str, Any]:
    return {"output": task.input["a"] + task.input["b"]}


async def test_many_tasks_on_two_workers_complete_exactly_once(
    queue: TaskQueue, database: Database
) -> None:
    runs: Counter[str] = Counter()

    async def counted(task: Task, ctx: TaskContext) -> dict[str, Any]:
        runs[task.id] += 1
        await asyncio.sleep(0.001)
        return await add(task, ctx)

    settings = WorkerSettings(concurrency=50, claim_batch=25, poll_s=0.05, heartbeat_s=1)
    workers = [Worker(queue, {"add": counted}, settings, f"w{i}") for i in range(2)]
    ids = [(await queue.submit(_new(i, 1), actor=None))[0].id for i in range(500)]
    for w in workers:
        w.start()
    try:
        for _ in range(600):
            page = [await queue.get(TENANT, i) for i in ids[-5:]]
            if all(t and t.status.terminal for t in page):
                break
            await asyncio.sleep(0.05)
    finally:
        for w in workers:
            await w.stop()
    tasks = [await queue.get(TENANT, i) for i in ids]
    assert all(t is not None and t.status is TaskStatus.COMPLETED for t in tasks)
    assert [t.result["output"] for t in tasks if t and t.result] == [i + 1 for i in range(500)]
    assert set(runs) == set(ids) and set(runs.values()) == {1}


async def test_shutdown_releases_leases_without_counting_an_attempt(
    queue: TaskQueue, database: Database
) -> None:
    started = asyncio.Event()

    async def slow(task: Task, ctx: TaskContext) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(3600)
        return {}

    worker = Worker(queue, {"add": slow}, WorkerSettings(poll_s=0.05, shutdown_grace_s=0.1))
    task, _ = await queue.submit(_new(), actor=None)
    worker.start()
    await asyncio.wait_for(started.wait(), 10)
    await worker.stop()
    after = await queue.get(TENANT, task.id)
    assert after is not None and after.status is TaskStatus.SUBMITTED
    assert (after.retry_count, after.crash_count, after.lease_owner) == (0, 0, None)
    again = await queue.claim("next", 1)
    assert [t.id for t in again] == [task.id]


async def test_priority_orders_the_claims(queue: TaskQueue) -> None:
    low = (await queue.submit(_new(1, 1), actor=None))[0]
    high = (await queue.submit(dataclasses.replace(_new(2, 2), priority=5), actor=None))[0]
    claimed = await queue.claim("w", 1)
    assert [t.id for t in claimed] == [high.id]
    assert [t.id for t in await queue.claim("w", 1)] == [low.id]


async def _run_with_peak(
    queue: TaskQueue, news: list[NewTask], key: str, workers: int = 2
) -> dict[str, int]:
    """Run ``news`` on several workers; return the peak of concurrently running tasks by key."""
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()

    async def tracked(task: Task, ctx: TaskContext) -> dict[str, Any]:
        group = str(getattr(task, key))
        running[group] += 1
        peak[group] = max(peak[group], running[group])
        await asyncio.sleep(0.02)
        running[group] -= 1
        return {"output": 1}

    settings = WorkerSettings(concurrency=30, claim_batch=10, poll_s=0.02, heartbeat_s=1)
    pool = [Worker(queue, {"add": tracked}, settings, f"cap{i}") for i in range(workers)]
    ids = [(await queue.submit(n, actor=None))[0].id for n in news]
    for w in pool:
        w.start()
    try:
        for _ in range(1500):
            states = [await queue.get(None, i) for i in ids]
            if all(t is not None and t.status.terminal for t in states):
                break
            await asyncio.sleep(0.05)
    finally:
        for w in pool:
            await w.stop()
    states = [await queue.get(None, i) for i in ids]
    assert all(t is not None and t.status is TaskStatus.COMPLETED for t in states)
    return dict(peak)


async def test_per_agent_cap_holds_across_workers_under_load(queue: TaskQueue) -> None:
    capped = [dataclasses.replace(_new(), agent_id="agent-x", agent_cap=3) for _ in range(60)]
    free = [dataclasses.replace(_new(), agent_id="agent-y") for _ in range(60)]
    mixed = [t for pair in zip(capped, free, strict=True) for t in pair]
    peak = await _run_with_peak(queue, mixed, "agent_id")
    assert peak["agent-x"] == 3  # reached, never exceeded
    assert peak["agent-y"] > 3  # the uncapped agent was not held back


async def test_per_tenant_cap_holds_across_workers(database: Database) -> None:
    audit = AuditService(database, CheckpointSigner.generate())
    limits = QueueLimits(tenant_max_running=4, retry=RetryPolicy(0.01, 0.05))
    queue = TaskQueue(database, audit, Signals(), limits)
    news = [dataclasses.replace(_new(), tenant_id=f"tenant-{i % 2}") for i in range(80)]
    peak = await _run_with_peak(queue, news, "tenant_id")
    assert peak == {"tenant-0": 4, "tenant-1": 4}


async def test_submissions_sharing_an_idempotency_key_store_one_task(database: Database) -> None:
    audit = AuditService(database, CheckpointSigner.generate())
    queue = TaskQueue(database, audit, Signals(), QueueLimits())
    keyed = [dataclasses.replace(_new(i), idempotency_key="same") for i in range(8)]
    other_tenant = dataclasses.replace(_new(), tenant_id="tenant-other", idempotency_key="same")
    plain = [_new(i) for i in range(4)]
    # Arriving together they share one batch; and from a second queue (another process).
    second = TaskQueue(database, audit, Signals(), QueueLimits())
    results = await asyncio.gather(
        *(queue.submit(n, None) for n in [*keyed[:4], *plain, other_tenant]),
        *(second.submit(n, None) for n in keyed[4:]),
    )
    keyed_results = results[:4] + results[9:]
    assert len({task.id for task, _ in keyed_results}) == 1
    assert sum(created for _, created in keyed_results) == 1
    assert all(created for _, created in results[4:9])
    assert results[8][0].id != keyed_results[0][0].id  # another tenant's key is its own
    async with database.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM agent_tasks"))).scalar_one()
    assert count == 1 + 4 + 1
    report = await audit.verify(TENANT)
    assert report.valid and report.checked == 1 + 4  # one "submitted" entry per stored task


async def test_an_outcome_that_could_not_be_written_runs_again(queue: TaskQueue) -> None:
    runs: Counter[str] = Counter()

    async def add(task: Task, ctx: TaskContext) -> dict[str, Any]:
        runs[task.id] += 1
        return {"output": task.input["a"] + task.input["b"]}

    settings = WorkerSettings(concurrency=5, poll_s=0.02, heartbeat_s=0.1)
    worker = Worker(queue, {"add": add}, settings, "flaky-db")
    finish = queue.finish
    failures = []

    async def finish_failing_once(outcomes: Any) -> list[Task]:
        if not failures:
            failures.append(outcomes)
            raise ConnectionError("database went away")
        return await finish(outcomes)

    worker._finisher = Batcher(finish_failing_once)
    task, _ = await queue.submit(_new(2, 3), None)
    worker.start()
    try:
        for _ in range(200):
            now = await queue.get(None, task.id)
            if now is not None and now.status.terminal:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    assert failures, "the first report did not fail"
    assert now is not None and now.status is TaskStatus.COMPLETED and now.result == {"output": 5}
    assert runs[task.id] == 2  # its lease was given back and it ran again


async def test_the_tool_journal_keeps_the_first_result_of_a_call(queue: TaskQueue) -> None:
    task_id = new_id()
    await queue.record_tool_call(task_id, "0:add:abc", {"success": True, "output": 3})
    # A stale attempt finishing the same call later must not replace what was journalled.
    await queue.record_tool_call(task_id, "0:add:abc", {"success": True, "output": 99})
    await queue.record_tool_call(task_id, "1:add:def", {"success": False, "error": "x"})
    assert await queue.journal(task_id) == {
        "0:add:abc": {"success": True, "output": 3},
        "1:add:def": {"success": False, "error": "x"},
    }
    assert await queue.journal(new_id()) == {}
