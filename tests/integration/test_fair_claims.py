"""Claims are fair across tenants: a flood of urgent tasks cannot starve another tenant."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from baton.domain.audit import CheckpointSigner
from baton.domain.ids import new_id
from baton.domain.tasks import RetryPolicy, Task
from baton.queue.signals import Signals
from baton.queue.task_queue import QueueLimits, TaskQueue
from baton.services.audit import AuditService
from baton.store.database import Database
from baton.store.tasks import NewTask


def _limits(cap: int | None = None) -> QueueLimits:
    return QueueLimits(
        lease=timedelta(seconds=30),
        max_crashes=3,
        retry=RetryPolicy(0.01, 0.05),
        tenant_max_running=cap,
    )


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[TaskQueue]:
    audit = AuditService(database, CheckpointSigner.generate())
    yield TaskQueue(database, audit, Signals(), _limits())


async def _submit(queue: TaskQueue, *news: NewTask) -> list[Task]:
    return [task for task, _ in await queue.submit_many([(n, None) for n in news])]


def _new(tenant: str, priority: int = 0) -> NewTask:
    return NewTask(
        id=new_id(),
        tenant_id=tenant,
        kind="add",
        agent_id=None,
        agent_version=None,
        task_type="add",
        input={"a": 1, "b": 2},
        priority=priority,
        max_retries=3,
        timeout_s=None,
        idempotency_key=None,
        created_by=None,
    )


async def test_a_flood_of_urgent_tasks_does_not_starve_another_tenant(queue: TaskQueue) -> None:
    await _submit(queue, *[_new("flood", priority=1000) for _ in range(60)])
    (quiet,) = await _submit(queue, _new("quiet"))
    claimed = await queue.claim("w", 10)
    assert quiet.id in [t.id for t in claimed]
    assert Counter(t.tenant_id for t in claimed) == {"flood": 9, "quiet": 1}


async def test_slots_go_to_the_tenant_running_fewest(queue: TaskQueue) -> None:
    await _submit(queue, *[_new("a") for _ in range(10)])
    first = await queue.claim("w", 6)
    assert {t.tenant_id for t in first} == {"a"} and len(first) == 6
    await _submit(queue, *[_new("b") for _ in range(10)])
    second = await queue.claim("w", 8)
    # a runs 6, b none: b gets slots until both run 7, then they alternate.
    assert Counter(t.tenant_id for t in second) == {"b": 7, "a": 1}


async def test_priority_still_orders_within_a_tenant(queue: TaskQueue) -> None:
    low = (await _submit(queue, _new("a", priority=0)))[0]
    high = (await _submit(queue, _new("a", priority=7)))[0]
    other = (await _submit(queue, _new("b", priority=-5)))[0]
    claimed = await queue.claim("w", 2)
    assert {t.id for t in claimed} == {high.id, other.id}
    assert [t.id for t in await queue.claim("w", 5)] == [low.id]


async def test_a_short_tenant_leaves_its_share_to_the_others(queue: TaskQueue) -> None:
    await _submit(queue, *[_new("many") for _ in range(20)])
    await _submit(queue, _new("one"))
    claimed = await queue.claim("w", 10)
    assert len(claimed) == 10
    assert Counter(t.tenant_id for t in claimed) == {"many": 9, "one": 1}


async def test_equal_tenants_take_turns_when_slots_are_scarce(queue: TaskQueue) -> None:
    tenants = [f"t{i}" for i in range(4)]
    for tenant in tenants:
        await _submit(queue, *[_new(tenant) for _ in range(4)])
    served: Counter[str] = Counter()
    for _ in range(4):
        served.update(t.tenant_id for t in await queue.claim("w", 1))
    assert served == dict.fromkeys(tenants, 1)


async def test_the_tenant_cap_holds_with_several_tenants(database: Database) -> None:
    audit = AuditService(database, CheckpointSigner.generate())
    queue = TaskQueue(database, audit, Signals(), _limits(cap=2))
    await _submit(queue, *[_new("a", priority=9) for _ in range(5)])
    await _submit(queue, *[_new("b") for _ in range(5)])
    claimed = await queue.claim("w", 10)
    assert Counter(t.tenant_id for t in claimed) == {"a": 2, "b": 2}
    assert await queue.claim("w", 10) == []
