"""procrastinate on PostgreSQL: one worker, concurrency 10 (W2).

Each run creates a fresh database `baton_bench_procrastinate` (dropped first if it exists),
applies procrastinate's schema, then twice enqueues 5,000 `add` jobs one by one
(`defer_async`, one transaction each) and drains them with one worker of concurrency 10
(`run_worker_async(wait=False)`, which returns once the queue is empty): first on the fresh
table with no statistics, then after ANALYZE. Every job's answer is checked, and every job
must be `succeeded` in the table.
"""

from __future__ import annotations

import asyncio
import os
import time
from importlib.metadata import version

import procrastinate
import psycopg

from bench.peers._common import PG_DSN, W2_TASKS, check_answers, cli, log
from bench.peers.procrastinate_app import QUEUE, add, answers, app
from bench.report import Figure

DATABASE = os.environ.get("BENCH_PROCRASTINATE_DB", "baton_bench_procrastinate")
SYSTEM = f"procrastinate {version('procrastinate')} + PostgreSQL, 1 worker, concurrency 10"


def fresh_database() -> str:
    with psycopg.connect(f"{PG_DSN} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"{PG_DSN} dbname={DATABASE}"


async def round_(offset: int) -> tuple[float, float]:
    """Enqueue then drain W2_TASKS jobs; return (enqueue/s, drain/s)."""
    started = time.perf_counter()
    for i in range(offset, offset + W2_TASKS):
        await add.defer_async(i=i, a=i, b=i + 1)
    enqueue = time.perf_counter() - started
    started = time.perf_counter()
    await app.run_worker_async(queues=[QUEUE], concurrency=10, wait=False)
    drain = time.perf_counter() - started
    ids = range(offset, offset + W2_TASKS)
    check_answers([answers.get(i) for i in ids], [2 * i + 1 for i in ids], "procrastinate W2")
    return W2_TASKS / enqueue, W2_TASKS / drain


async def measure() -> list[Figure]:
    conninfo = fresh_database()
    with app.replace_connector(procrastinate.PsycopgConnector(conninfo=conninfo)):
        async with app.open_async():
            figures = await rounds(conninfo)
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        cursor = await conn.execute(
            "SELECT status, count(*) FROM procrastinate_jobs GROUP BY status"
        )
        statuses = dict(await cursor.fetchall())
    check_answers([statuses], [{"succeeded": 2 * W2_TASKS}], "procrastinate job statuses")
    return figures


async def rounds(conninfo: str) -> list[Figure]:
    await app.schema_manager.apply_schema_async()
    figures = []
    for offset, label in ((0, "fresh table, no statistics"), (W2_TASKS, "after ANALYZE")):
        if offset:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute("ANALYZE")
        enqueue, drain = await round_(offset)
        log(f"W2 procrastinate ({label}): enqueue {enqueue:,.0f}/s, drain {drain:,.0f}/s")
        figures.append(
            Figure(
                "W2",
                f"{SYSTEM}, {label}",
                f"{drain:,.0f} tasks/s drain (enqueue {enqueue:,.0f}/s)",
                f"{W2_TASKS} jobs, defer_async one by one",
            )
        )
    return figures


def run(workloads: list[str]) -> list[Figure]:
    return asyncio.run(measure()) if "w2" in workloads else []


if __name__ == "__main__":
    cli(run, ["w2"])
