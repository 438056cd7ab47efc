"""Audit append latency: 10,000 single-entry appends, each its own transaction."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from baton.bootstrap import settle_heap
from baton.domain.audit import AuditEntryType, CheckpointSigner
from baton.domain.audit.log import AuditEvent
from baton.services.audit import AuditService
from baton.store import migrate
from baton.store.database import Database
from bench.databases import fresh_postgres
from bench.report import Figure, latency_summary

APPENDS = int(os.environ.get("BENCH_AUDIT_APPENDS", "10000"))


async def measure(url: str) -> list[float]:
    """Append APPENDS entries to one tenant's log; return per-append milliseconds."""
    await migrate.upgrade(url)
    db = Database(url)
    audit = AuditService(db, CheckpointSigner.generate())
    samples = []
    payload = {"tool": "add", "arguments": {"a": 2, "b": 3}}
    try:
        for _ in range(200):  # warm-up
            await audit.append(AuditEvent("warm", AuditEntryType.TOOL_CALL, payload))
        settle_heap()  # as `baton serve` and `baton worker` do once started
        for i in range(APPENDS):
            event = AuditEvent("bench", AuditEntryType.TOOL_CALL, payload, task_id=f"t{i % 97}")
            started = time.perf_counter()
            await audit.append(event)
            samples.append((time.perf_counter() - started) * 1000)
        report = await audit.verify("bench")
        assert report.valid and report.checked == APPENDS, report
    finally:
        await db.dispose()
    return samples


def run() -> list[Figure]:
    """Measure on SQLite, and on PostgreSQL when BATON_BENCH_DATABASE_URL is set."""
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        samples = asyncio.run(measure(url))
        figures.append(
            Figure("audit append", "Baton, SQLite", latency_summary(samples), f"{APPENDS} appends")
        )
    pg = os.environ.get("BATON_BENCH_DATABASE_URL")
    if pg:
        samples = asyncio.run(measure(fresh_postgres(pg, "baton_bench_audit")))
        figures.append(
            Figure("audit append", "Baton, PostgreSQL", latency_summary(samples), f"{APPENDS}")
        )
    return figures
