"""Housekeeping deletes old stream events, finished tasks' journals and settled webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, insert, select, update

from baton.domain.audit import CheckpointSigner
from baton.domain.ids import new_id
from baton.queue.signals import Signals
from baton.queue.task_queue import QueueLimits, TaskQueue
from baton.services.audit import AuditService
from baton.services.housekeeping import Housekeeping
from baton.store.database import Database
from baton.store.tables import AgentTaskRow, TaskEventRow, ToolJournalRow, WebhookDeliveryRow
from baton.store.tasks import NewTask

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=10)
RECENT = NOW - timedelta(days=1)


def _task() -> NewTask:
    return NewTask(new_id(), "tenant-h", "add", None, None, "add", {}, 0, 3, None, None, None)


async def _count(db: Database, table: type, *where: object) -> int:
    def read(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar())

    return await db.run(read, write=False)


def _events(conn: Connection, moments: list[datetime]) -> None:
    rows = [
        {"tenant_id": "tenant-h", "task_id": "t", "type": "status", "data": {}, "created_at": m}
        for m in moments
    ]
    conn.execute(insert(TaskEventRow), rows)


async def test_only_what_is_older_than_the_retention_and_settled_goes(database: Database) -> None:
    queue = TaskQueue(
        database, AuditService(database, CheckpointSigner.generate()), Signals(), QueueLimits()
    )
    # Events come in time order, as they do in a running system (ids grow with time).
    await database.run(lambda conn: _events(conn, [OLD] * 7))
    (finished, _), (running, _) = [await queue.submit(_task(), None) for _ in range(2)]

    def setup(conn: Connection) -> None:
        _events(conn, [RECENT] * 3)
        conn.execute(
            update(AgentTaskRow).where(AgentTaskRow.id == finished.id).values(status="completed")
        )
        conn.execute(
            update(AgentTaskRow).where(AgentTaskRow.id == running.id).values(status="running")
        )
        journal = [
            (finished.id, "0:old", OLD),
            (finished.id, "1:recent", RECENT),
            (running.id, "0:old", OLD),  # its task may still retry: kept
        ]
        conn.execute(
            insert(ToolJournalRow),
            [{"task_id": t, "call_key": k, "result": {}, "created_at": c} for t, k, c in journal],
        )
        deliveries = [("delivered", OLD), ("failed", OLD), ("pending", OLD), ("delivered", RECENT)]
        conn.execute(
            insert(WebhookDeliveryRow),
            [
                {
                    "id": new_id(),
                    "tenant_id": "tenant-h",
                    "task_id": finished.id,
                    "url": "http://example.invalid/hook",
                    "event": "task.completed",
                    "payload": {},
                    "attempts": 1,
                    "next_attempt_at": when,
                    "status": status,
                    "created_at": when,
                }
                for status, when in deliveries
            ],
        )

    await database.run(setup)
    events_before = await _count(database, TaskEventRow)

    counts = await Housekeeping(database, timedelta(days=7), clock=lambda: NOW, batch=3).run()

    # The two submissions' own events are new (today's clock) and stay too.
    assert counts == {"events": 7, "journal": 1, "webhook_deliveries": 2}
    assert await _count(database, TaskEventRow) == events_before - 7
    assert await _count(database, TaskEventRow, TaskEventRow.created_at < OLD + timedelta(1)) == 0
    assert await _count(database, ToolJournalRow) == 2
    assert await _count(database, ToolJournalRow, ToolJournalRow.task_id == running.id) == 1
    left = await _count(database, WebhookDeliveryRow)
    assert left == 2  # the pending one and the recent one
    assert await Housekeeping(database, timedelta(days=7), clock=lambda: NOW).run() == {
        "events": 0,
        "journal": 0,
        "webhook_deliveries": 0,
    }


async def test_the_newest_event_is_kept_so_ids_never_restart(database: Database) -> None:
    await database.run(lambda conn: _events(conn, [OLD] * 4))
    newest = await database.run(
        lambda conn: conn.execute(select(func.max(TaskEventRow.id))).scalar(), write=False
    )

    counts = await Housekeeping(database, timedelta(days=7), clock=lambda: NOW).run()

    assert counts["events"] == 3
    await database.run(lambda conn: _events(conn, [NOW]))
    ids = await database.run(
        lambda conn: list(
            conn.execute(select(TaskEventRow.id).order_by(TaskEventRow.id)).scalars()
        ),
        write=False,
    )
    assert ids[0] == newest and ids[1] > newest
