"""The audit log against real databases: append, search, verify, tamper, guard, retain."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from baton.bootstrap import create_app
from baton.config import Settings
from baton.domain.audit import (
    AuditEntryType,
    Checkpoint,
    CheckpointSigner,
    record_leaf_hash,
    verify_inclusion,
)
from baton.domain.audit.log import AuditEvent, AuditFilter, AuditSearch
from baton.services.audit import AuditService
from baton.store.database import Database
from tests.support.api import make_tenant

T = "tenant-1"


def _service(db: Database, signer: CheckpointSigner | None = None, **kw: object) -> AuditService:
    return AuditService(db, signer or CheckpointSigner.generate(), **kw)  # type: ignore[arg-type]


def _event(i: int, **kw: object) -> AuditEvent:
    fields: dict[str, object] = {
        "tenant_id": T,
        "entry_type": AuditEntryType.TOOL_CALL,
        "payload": {"i": i, "args": {"x": i}},
        "agent_id": f"agent-{i % 3}",
        "task_id": f"task-{i % 5}",
    }
    fields.update(kw)
    return AuditEvent(**fields)  # type: ignore[arg-type]


async def _fill(audit: AuditService, n: int) -> None:
    for i in range(n):
        await audit.append(_event(i))


async def _sql(db: Database, *statements: str) -> None:
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def _drop_guards(db: Database) -> None:
    """What an attacker with database access does first."""
    if db.is_sqlite:
        for table in ("audit_entries", "audit_payloads", "audit_checkpoints"):
            await _sql(
                db,
                f"DROP TRIGGER IF EXISTS {table}_no_update",
                f"DROP TRIGGER IF EXISTS {table}_no_delete",
            )
    else:
        await _sql(
            db,
            *[
                f"ALTER TABLE {t} DISABLE TRIGGER USER"
                for t in ("audit_entries", "audit_payloads", "audit_checkpoints")
            ],
        )


async def test_append_assigns_contiguous_seqs_and_verifies(database: Database) -> None:
    audit = _service(database, checkpoint_every=4)
    records = [await audit.append(_event(i)) for i in range(10)]
    assert [r.seq for r in records] == list(range(10))
    many = await _run_in(database, audit, [_event(i) for i in range(10, 15)])
    assert [r.seq for r in many] == [10, 11, 12, 13, 14]
    report = await audit.verify(T)
    assert report.valid, report
    assert report.checked == 15
    # first append signs one, then every 4 entries: sizes 1, 5, 9, 15
    assert report.checkpoints_verified == 4
    other = await audit.append(_event(0, tenant_id="tenant-2"))
    assert other.seq == 0  # every tenant has its own sequence


async def _run_in(db: Database, audit: AuditService, events: list[AuditEvent]) -> list[object]:
    async with db.transaction() as uow:
        return list(await audit.append_in(uow, events))


async def test_append_rolls_back_with_the_callers_transaction(database: Database) -> None:
    audit = _service(database)
    await audit.append(_event(0))
    with pytest.raises(RuntimeError):
        async with database.transaction() as uow:
            await audit.append_in(uow, [_event(1)])
            raise RuntimeError("use case failed")
    assert (await audit.append(_event(2))).seq == 1
    assert (await audit.verify(T)).valid


async def test_search_filters_order_and_pages(database: Database) -> None:
    audit = _service(database)
    await _fill(audit, 12)
    await audit.append(_event(99, entry_type=AuditEntryType.ERROR, agent_id="x", task_id="y"))

    async def seqs(**kw: object) -> list[int]:
        page = await audit.search(T, AuditSearch(**kw))  # type: ignore[arg-type]
        return [e.record.seq for e in page.items]

    assert await seqs(criteria=AuditFilter(agent_id="agent-1")) == [10, 7, 4, 1]
    assert await seqs(criteria=AuditFilter(task_id="task-0"), newest_first=False) == [0, 5, 10]
    assert await seqs(criteria=AuditFilter(entry_type="error")) == [12]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert await seqs(criteria=AuditFilter(since=future)) == []
    assert len(await seqs(criteria=AuditFilter(until=future), limit=500)) == 13
    first = await audit.search(T, AuditSearch(limit=5))
    assert [e.record.seq for e in first.items] == [12, 11, 10, 9, 8]
    assert first.next_cursor == 8
    second = await audit.search(T, AuditSearch(limit=5, cursor=first.next_cursor))
    assert [e.record.seq for e in second.items] == [7, 6, 5, 4, 3]
    assert first.items[0].payload == {"i": 99, "args": {"x": 99}}
    assert await _other_tenant_sees_nothing(audit)


async def _other_tenant_sees_nothing(audit: AuditService) -> bool:
    page = await audit.search("tenant-none", AuditSearch(limit=500))
    return page.items == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET actor = 'me' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 1",
        "UPDATE audit_payloads SET payload = '{}' WHERE seq = 1",
        "DELETE FROM audit_payloads WHERE seq = 1",
        "UPDATE audit_checkpoints SET size = 99",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_entries",
        "TRUNCATE audit_payloads",
        "TRUNCATE audit_checkpoints",
    ],
)
async def test_audit_tables_refuse_update_delete_truncate(
    database: Database, statement: str
) -> None:
    audit = _service(database)
    await _fill(audit, 3)
    if database.is_sqlite and statement.startswith("TRUNCATE"):
        statement = statement.replace("TRUNCATE", "DELETE FROM")  # SQLite's spelling
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(database, statement)
    assert (await audit.verify(T)).valid


async def test_the_retention_gate_is_closed_outside_retention(database: Database) -> None:
    """Holding the gate row in another transaction does not open it for this one."""
    audit = _service(database)
    await _fill(audit, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(database, "DELETE FROM audit_entries WHERE seq = 0")
    # The gate only lets payload deletes through, and only inside its own transaction.
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(
            database,
            "INSERT INTO audit_retention_gate (id) VALUES (1)",
            "DELETE FROM audit_entries WHERE seq = 0",
        )


TAMPERING = {
    "change one field": (
        ["UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 5"],
        5,
    ),
    "change a payload": (
        ["UPDATE audit_payloads SET payload = '{\"i\": 0}' WHERE seq = 3"],
        3,
    ),
    "delete a middle entry": (
        ["DELETE FROM audit_entries WHERE seq = 4", "DELETE FROM audit_payloads WHERE seq = 4"],
        4,
    ),
    "truncate the tail": (
        [
            "DELETE FROM audit_entries WHERE seq >= 7",
            "DELETE FROM audit_payloads WHERE seq >= 7",
        ],
        7,
    ),
    "reorder two entries": (
        [
            "UPDATE audit_entries SET seq = 100 WHERE seq = 2",
            "UPDATE audit_entries SET seq = 2 WHERE seq = 3",
            "UPDATE audit_entries SET seq = 3 WHERE seq = 100",
        ],
        2,
    ),
    "duplicate an entry": (
        [
            "INSERT INTO audit_entries SELECT tenant_id, 10, entry_type, created_at, actor, "
            "agent_id, task_id, payload_hash, leaf_hash FROM audit_entries WHERE seq = 9",
            "INSERT INTO audit_payloads SELECT tenant_id, 10, nonce, payload "
            "FROM audit_payloads WHERE seq = 9",
        ],
        10,
    ),
    "unreadable entry type": (["UPDATE audit_entries SET entry_type = 'zzz' WHERE seq = 6"], 6),
}


@pytest.mark.parametrize("case", list(TAMPERING))
async def test_tampering_in_the_database_is_detected(database: Database, case: str) -> None:
    audit = _service(database, checkpoint_every=1000)
    await _fill(audit, 10)
    assert (await audit.verify(T)).valid
    await _drop_guards(database)
    statements, first_bad = TAMPERING[case]
    await _sql(database, *[s.replace("WHERE", f"WHERE tenant_id = '{T}' AND") for s in statements])
    report = await audit.verify(T)
    assert not report.valid, case
    assert report.first_invalid_seq == first_bad, report
    assert report.reason


async def test_recomputed_log_is_caught_by_an_exported_checkpoint(database: Database) -> None:
    signer = CheckpointSigner.generate()
    audit = _service(database, signer, checkpoint_every=5)
    await _fill(audit, 10)
    exported = (await audit.checkpoints(T))[-1]
    kept = Checkpoint.from_json(json.loads(json.dumps(exported.to_json())))  # kept elsewhere
    assert (await audit.verify(T, kept)).valid

    # The attacker rewrites history: wipes the log and appends a different one through
    # Baton's own code, with every hash and even the checkpoints made with Baton's key.
    await _drop_guards(database)
    await _sql(
        database,
        "DELETE FROM audit_entries",
        "DELETE FROM audit_payloads",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_heads",
    )
    forger = _service(database, signer, checkpoint_every=5)
    for i in range(12):
        await forger.append(_event(i, actor="forger"))
    assert (await forger.verify(T)).valid  # internally consistent...
    report = await forger.verify(T, kept)
    assert not report.valid  # ...but it does not extend the checkpoint the user kept
    assert report.failed_checkpoint_size == kept.size


async def test_a_deleted_checkpoint_set_is_noticed(database: Database) -> None:
    audit = _service(database)
    await _fill(audit, 3)
    await _drop_guards(database)
    await _sql(database, "DELETE FROM audit_checkpoints")
    report = await audit.verify(T)
    assert not report.valid and "checkpoint" in (report.reason or "")


async def test_checkpoints_by_count_and_by_time(database: Database) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    audit = _service(
        database,
        checkpoint_every=100,
        checkpoint_interval=timedelta(seconds=60),
        clock=lambda: now[0],
    )
    await _fill(audit, 3)  # first append signs at size 1
    assert [c.size for c in await audit.checkpoints(T)] == [1]
    assert await audit.sign_due_checkpoints() == 0  # not due yet
    now[0] += timedelta(seconds=61)
    assert await audit.sign_due_checkpoints() == 1  # idle log gets one by time
    assert [c.size for c in await audit.checkpoints(T)] == [1, 3]
    assert await audit.sign_due_checkpoints() == 0  # nothing new
    now[0] += timedelta(seconds=61)
    await audit.append(_event(3))  # an append after the interval signs at once
    assert [c.size for c in await audit.checkpoints(T)] == [1, 3, 4]
    assert (await audit.verify(T)).checkpoints_verified == 3


async def test_retention_deletes_only_old_payloads_and_keeps_the_log_verifiable(
    database: Database,
) -> None:
    now = [datetime.now(UTC) - timedelta(days=10)]
    audit = _service(database, clock=lambda: now[0])
    await _fill(audit, 5)  # ten days old
    now[0] = datetime.now(UTC) - timedelta(days=2)
    await _fill(audit, 3)  # two days old
    now[0] = datetime.now(UTC)
    assert await audit.run_retention() == {}  # no policy: nothing deleted
    await audit.set_retention(T, 7, actor="admin")
    assert await audit.run_retention() == {T: 5}
    assert await audit.run_retention() == {}  # nothing more to do
    page = await audit.search(T, AuditSearch(limit=500, newest_first=False))
    kept = [e.record.seq for e in page.items if e.payload is not None]
    assert kept == [5, 6, 7, 8, 9]  # old payloads gone; new ones and both admin entries kept
    actions = [e.payload for e in page.items if e.record.entry_type == AuditEntryType.ADMIN_ACTION]
    assert actions[-1] is not None and actions[-1]["action"] == "audit.retention_run"
    assert actions[-1]["payloads_deleted"] == 5
    report = await audit.verify(T)
    assert report.valid, report
    assert report.payloads_expired == 5
    assert report.checked == 10


async def test_retention_runs_by_itself_in_the_server(settings: Settings) -> None:
    fast = settings.model_copy(update={"audit_retention_interval_s": 0.05})
    app = create_app(fast)
    async with app.router.lifespan_context(app):  # starts the periodic jobs
        services = app.state.services
        forty_days_ago = datetime.now(UTC) - timedelta(days=40)
        old = AuditService(services.db, services.audit.signer, clock=lambda: forty_days_ago)
        for i in range(4):
            await old.append(_event(i))
        await services.audit.set_retention(T, 30, actor="admin")
        for _ in range(200):
            policy = await services.audit.policy(T)
            if policy.expired:
                break
            await asyncio.sleep(0.05)
        report = await services.audit.verify(T)
    assert policy.expired == 4
    assert report.valid, report
    assert report.payloads_expired == 4


async def test_concurrent_appenders_make_one_contiguous_log(database: Database) -> None:
    signer = CheckpointSigner.generate()
    writers = [Database(database.url, pool_size=2) for _ in range(4)]
    services = [_service(db, signer, checkpoint_every=7) for db in writers]
    try:

        async def appender(k: int) -> None:
            audit = services[k % len(services)]
            for i in range(8):
                await audit.append(_event(k * 100 + i, actor=f"w{k}"))

        await asyncio.gather(*(appender(k) for k in range(32)))
    finally:
        for db in writers:
            await db.dispose()
    audit = _service(database, signer)
    report = await audit.verify(T)
    assert report.valid, report
    assert report.checked == 32 * 8
    page = await audit.search(T, AuditSearch(limit=500, newest_first=False))
    assert [e.record.seq for e in page.items] == list(range(256))


async def test_export_carries_inclusion_proofs_that_verify(database: Database) -> None:
    audit = _service(database, checkpoint_every=6)
    await _fill(audit, 14)
    lines = await audit.export(T, since=None, until=None)
    anchor = Checkpoint.from_json(lines[0]["checkpoint"])
    assert anchor.size == 13  # sizes 1, 7, 13
    entries = lines[1:]
    assert [e["seq"] for e in entries] == list(range(14))
    proved = [e for e in entries if "proof" in e]
    assert len(proved) == 13
    page = await audit.search(T, AuditSearch(limit=500, newest_first=False))
    for entry, stored in zip(proved, page.items, strict=False):
        leaf = record_leaf_hash(stored.record)
        path = [bytes.fromhex(h) for h in entry["proof"]["path"]]
        assert verify_inclusion(entry["seq"], anchor.size, leaf, path, anchor.root)


async def test_audit_api_is_tenant_scoped_and_verifies(client: httpx.AsyncClient) -> None:
    a = await make_tenant(client, "a")
    b = await make_tenant(client, "b")
    await client.post("/api/projects", json={"name": "pa"}, headers=a.auth("developer"))
    listing = (await client.get("/api/audit", headers=a.auth("viewer"))).json()["items"]
    actions = [e["payload"]["action"] for e in listing]
    assert actions[0] == "project.created"
    assert "tenant.created" in actions and "api_key.created" in actions
    other = (await client.get("/api/audit", headers=b.auth("viewer"))).json()["items"]
    assert "project.created" not in [e["payload"]["action"] for e in other]
    typed = await client.get(
        "/api/audit", params={"type": "admin_action", "order": "oldest"}, headers=a.auth("viewer")
    )
    assert typed.json()["items"][0]["payload"]["action"] == "tenant.created"
    bad = await client.get("/api/audit", params={"type": "nope"}, headers=a.auth("viewer"))
    assert bad.status_code == 422
    naive = await client.get(
        "/api/audit", params={"since": "2026-01-01T00:00:00"}, headers=a.auth("viewer")
    )
    assert naive.status_code == 422

    verify = (await client.get("/api/audit/verify", headers=a.auth("viewer"))).json()
    assert verify["valid"] is True and verify["checked"] == len(listing)
    cps = (await client.get("/api/audit/checkpoints", headers=a.auth("viewer"))).json()
    assert cps["items"] and cps["public_key"]
    kept = json.dumps(cps["items"][-1])
    again = await client.get(
        "/api/audit/verify", params={"from_checkpoint": kept}, headers=a.auth("viewer")
    )
    assert again.json()["valid"] is True
    foreign = await client.get(
        "/api/audit/verify", params={"from_checkpoint": kept}, headers=b.auth("viewer")
    )
    assert foreign.status_code == 422  # a checkpoint of another tenant
    garbage = await client.get(
        "/api/audit/verify", params={"from_checkpoint": "{"}, headers=a.auth("viewer")
    )
    assert garbage.status_code == 422
    denied = await client.put(
        "/api/audit/retention", json={"audit_retention_days": 3}, headers=a.auth("developer")
    )
    assert denied.status_code == 403


def test_cli_verify_and_export(tmp_path: Path) -> None:
    import subprocess
    import sys

    baton = str(Path(sys.executable).with_name("baton"))
    env = {"BATON_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([baton, "migrate"], env=env, check=True, capture_output=True)
    # First start bootstraps the default tenant (an audited admin action).
    boot = (
        "import asyncio\n"
        "from baton.config import Settings\n"
        "from baton.bootstrap import start_services, first_start\n"
        "async def main():\n"
        "    s = await start_services(Settings(), migrate_schema=False)\n"
        "    await first_start(s, None)\n"
        "    await s.db.dispose()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", boot], env=env, check=True)
    ok = subprocess.run([baton, "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert '"valid": true' in ok.stdout
    out = subprocess.run([baton, "audit", "export"], env=env, capture_output=True, text=True)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert "checkpoint" in lines[0] and lines[1]["payload"]["action"] == "tenant.created"
    assert "proof" in lines[1]
    cp = tmp_path / "cp.json"
    cp.write_text(json.dumps(lines[0]["checkpoint"]))
    again = subprocess.run(
        [baton, "audit", "verify", "--checkpoint", str(cp)], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0
    missing = subprocess.run(
        [baton, "audit", "verify", "--tenant", "nobody"], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


async def test_concurrent_appends_share_writes_and_a_bad_one_fails_alone(
    database: Database,
) -> None:
    audit = _service(database)
    too_big = _event(99, payload={"blob": "x" * (300 * 1024)})
    events = [_event(i) for i in range(20)]
    outcomes = await asyncio.gather(
        *(audit.append(e) for e in [*events[:10], too_big, *events[10:]]),
        return_exceptions=True,
    )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and "payload over" in str(failed[0])
    seqs = sorted(o.seq for o in outcomes if not isinstance(o, BaseException))
    assert seqs == list(range(20))
    report = await audit.verify(T)
    assert report.valid and report.checked == 20, report
