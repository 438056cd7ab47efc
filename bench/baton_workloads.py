"""Baton's side of W1, W2, W3 and the submission latency (BENCH.md).

They use the same fake LLM server as the peers. Every task's answer is checked; one
wrong answer voids the run.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.databases import fresh_postgres
from bench.fakellm import start_fake_llm
from bench.loadgen import RawHttp
from bench.report import Figure, latency_summary

PROMPT = 'add\nCALL add {"a": 2, "b": 3}'
EXPECTED = "DONE: 5"
KEY = "bk_bench-superadmin-key-000000000000"
PLUGIN = "baton.plugins.arithmetic"
W1_TASKS = int(os.environ.get("BENCH_W1_TASKS", "1000"))
W2_TASKS = int(os.environ.get("BENCH_W2_TASKS", "5000"))
W3_TASKS = int(os.environ.get("BENCH_W3_TASKS", "1000"))
SUBMIT_RPS = int(os.environ.get("BENCH_SUBMIT_RPS", "200"))
SUBMIT_SECONDS = float(os.environ.get("BENCH_SUBMIT_SECONDS", "30"))
SUBMIT_WARMUP_SECONDS = 3.0
PG_URL = os.environ.get("BATON_BENCH_DATABASE_URL")


class VoidRun(RuntimeError):
    """A task was lost or garbled."""


def _env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATA_DIR=str(data_dir),
        BATON_ADMIN_KEY=KEY,
        BATON_PLUGINS=PLUGIN,
        BATON_DEMO_AGENTS="false",
        BATON_LOG_LEVEL="WARNING",
        BATON_LLM_COMPATIBLE_API_KEY="sk-fake",
    )
    if database_url:
        env["BATON_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def baton_server(data_dir: Path, **extra: str) -> Iterator[str]:
    """`baton serve` in its own process; yields its base URL."""
    port = _free_port()
    baton = str(Path(sys.executable).with_name("baton"))
    proc = subprocess.Popen(
        [baton, "serve", "--port", str(port)],
        env=_env(data_dir, **extra),
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"baton serve did not start: {data_dir / 'server.log'}")
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@asynccontextmanager
async def api(url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120, limits=limits
    ) as client:
        yield client


async def _agent(client: httpx.AsyncClient, llm_url: str) -> str:
    body = {
        "name": "bench-adder",
        "capabilities": ["add"],
        "tools": ["add"],
        "config": {"provider": "openai_compatible", "model": "fake", "base_url": llm_url},
    }
    r = await client.post("/api/agents", json=body)
    r.raise_for_status()
    return str(r.json()["id"])


def _check(task: dict[str, Any]) -> None:
    if task.get("status") != "completed" or (task.get("result") or {}).get("output") != EXPECTED:
        raise VoidRun(f"task {task.get('id')} ended {task.get('status')}: {task.get('error')}")


# --- W1: engine overhead, one task after another --------------------------------------


async def _w1_engine(llm_url: str, data_dir: Path) -> float:
    from baton.bootstrap import first_start, start_services
    from baton.config import Settings
    from baton.domain.tasks import TaskStatus
    from baton.queue.worker import TaskContext
    from baton.services.agents import AgentDefinition, local_operator
    from baton.services.tasks import Submission
    from baton.store.tasks import Outcome

    settings = Settings(
        data_dir=data_dir,
        admin_key=KEY,
        plugins=[PLUGIN],
        demo_agents=False,  # type: ignore[arg-type]
    )
    services = await start_services(settings, migrate_schema=True)
    try:
        await first_start(services, None)
        async with services.db.transaction(write=False) as uow:
            tenant = await uow.tenants.get_by_name("default")
        assert tenant is not None
        operator = local_operator(tenant.id, "bench")
        agent = await services.agents.create(
            operator,
            AgentDefinition(
                name="bench-adder",
                capabilities=("add",),
                tools=("add",),
                config={"provider": "openai_compatible", "model": "fake", "base_url": llm_url},
            ),
        )
        runner = services.handlers["agent"]
        queue = services.queue

        async def one() -> None:
            await services.tasks.submit(
                operator, Submission("add", {"prompt": PROMPT}, agent_id=agent.id)
            )
            (claimed,) = await queue.claim("bench", 1)
            result = await runner(claimed, TaskContext(claimed, queue, "bench"))
            (done,) = await queue.finish(
                [Outcome(claimed.id, claimed.lease_epoch, TaskStatus.COMPLETED, result=result)]
            )
            if done.result is None or done.result.get("output") != EXPECTED:
                raise VoidRun(f"engine answered {done.result}")

        for _ in range(20):
            await one()
        started = time.perf_counter()
        for _ in range(W1_TASKS):
            await one()
        return (time.perf_counter() - started) * 1000 / W1_TASKS
    finally:
        await services.providers.aclose()
        await services.db.dispose()


async def _w1_service(url: str, llm_url: str) -> float:
    async with api(url) as client:
        agent_id = await _agent(client, llm_url)
    # The lean client: httpx's CPU per request would add to every task's latency here.
    http = RawHttp(url, {"Authorization": f"Bearer {KEY}"})
    body = {"agent_id": agent_id, "task_type": "add", "input": {"prompt": PROMPT}}

    async def one() -> None:
        status, answer = await http.request("POST", "/api/agents/tasks", body)
        if status != 202:
            raise VoidRun(f"submission answered {status}: {answer}")
        task_id = answer["id"]
        # The task's event stream ends when the task does; then read the task.
        await http.request("GET", f"/api/agents/tasks/{task_id}/events")
        _, task = await http.request("GET", f"/api/agents/tasks/{task_id}")
        _check(task)

    try:
        for _ in range(20):
            await one()
        started = time.perf_counter()
        for _ in range(W1_TASKS):
            await one()
        return (time.perf_counter() - started) * 1000 / W1_TASKS
    finally:
        await http.aclose()


def w1() -> list[Figure]:
    """W1: ms per agent task, engine alone (persisted, audited) and the whole service."""
    llm_url, stop = start_fake_llm(0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = asyncio.run(_w1_engine(llm_url, Path(tmp) / "engine"))
            with baton_server(Path(tmp)) as url:
                service = asyncio.run(_w1_service(url, llm_url))
    finally:
        stop()
    return [
        Figure("W1 agent loop", "Baton engine (SQLite, audited)", f"{engine:.2f} ms/task"),
        Figure("W1 agent loop", "Baton service (HTTP→queue→worker)", f"{service:.2f} ms/task"),
    ]


# --- W2: durable queue throughput -------------------------------------------------------


async def _w2(database_url: str | None, data_dir: Path) -> tuple[float, float]:
    from sqlalchemy import text

    from baton.bootstrap import start_services
    from baton.config import Settings
    from baton.domain.ids import new_id
    from baton.store.tasks import NewTask

    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        plugins=[PLUGIN],
        demo_agents=False,
        worker_poll_s=0.05,
    )
    services = await start_services(settings, migrate_schema=True)
    queue = services.queue
    news = [
        NewTask(
            new_id(), "bench", "add", None, None, "add", {"a": i, "b": 1}, 0, 3, None, None, None
        )
        for i in range(W2_TASKS)
    ]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(queue.submit(n, None) for n in news))
        enqueue = W2_TASKS / (time.perf_counter() - started)
        worker = services.worker()
        started = time.perf_counter()
        worker.start()
        # "Any task left?" is one index probe; counting the completed ones every 20 ms
        # scanned the table and took CPU from the workers being measured.
        left = text("SELECT 1 FROM agent_tasks WHERE status IN ('submitted', 'running') LIMIT 1")
        while True:
            async with services.db.engine.connect() as conn:
                pending = (await conn.execute(left)).first()
            if pending is None:
                break
            await asyncio.sleep(0.02)
        drain = W2_TASKS / (time.perf_counter() - started)
        await worker.stop()
        for new in news[:: max(1, W2_TASKS // 50)]:
            task = await queue.get("bench", new.id)
            if task is None or task.result != {"output": new.input["a"] + 1}:
                raise VoidRun(f"task {new.id} garbled: {task}")
        report = await services.audit.verify("bench")
        if not report.valid:
            raise VoidRun(f"audit log invalid after W2: {report}")
        return enqueue, drain
    finally:
        await services.db.dispose()


def _w2_figure(system: str, enqueue: float, drain: float) -> Figure:
    return Figure("W2 queue", system, f"drain {drain:,.0f}/s", f"enqueue {enqueue:,.0f}/s")


def w2() -> list[Figure]:
    """W2: enqueue and drain rates of trivial tasks, every transition persisted and audited."""
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        enqueue, drain = asyncio.run(_w2(None, Path(tmp)))
        figures.append(_w2_figure("Baton, SQLite", enqueue, drain))
        if PG_URL:
            pg_url = fresh_postgres(PG_URL, "baton_bench_w2")
            enqueue, drain = asyncio.run(_w2(pg_url, Path(tmp) / "pg"))
            figures.append(_w2_figure("Baton, PostgreSQL (1 worker)", enqueue, drain))
    return figures


# --- W3: I/O-bound concurrency through the whole service --------------------------------


async def _w3(url: str, llm_url: str) -> float:
    async with api(url) as client:
        agent_id = await _agent(client, llm_url)
        body = {"agent_id": agent_id, "task_type": "add", "input": {"prompt": PROMPT}}
        # Submitted through the lean client: httpx's ~5 ms of CPU per request would take
        # the cores the server is measured on. Each carries an idempotency key.
        http = RawHttp(url, {"Authorization": f"Bearer {KEY}"})
        started = time.perf_counter()
        try:
            posts = await asyncio.gather(
                *(
                    http.request("POST", "/api/agents/tasks", {**body, "idempotency_key": key})
                    for key in (uuid.uuid4().hex for _ in range(W3_TASKS))
                )
            )
        finally:
            await http.aclose()
        ids = {answer["id"] for status, answer in posts if status == 202}
        if len(ids) != W3_TASKS:
            refused = [answer for status, answer in posts if status != 202]
            raise VoidRun(f"{len(refused)} submission(s) refused, e.g. {refused[:1]}")
        pending = set(ids)
        async with client.stream("GET", "/api/events") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event.get("status") in ("completed", "failed", "cancelled"):
                        pending.discard(event["task_id"])
                        if not pending:
                            break
        wall = time.perf_counter() - started
        for task_id in list(ids)[:: max(1, W3_TASKS // 100)]:
            _check((await client.get(f"/api/agents/tasks/{task_id}")).json())
        failed = (await client.get("/api/agents/tasks", params={"status": "failed"})).json()
        if failed["items"]:
            raise VoidRun(f"{len(failed['items'])} task(s) failed")
        return wall


def w3() -> list[Figure]:
    """W3: 1,000 agent tasks at once, 500 ms per LLM call, through the whole service."""
    llm_url, stop = start_fake_llm(500)
    try:
        with tempfile.TemporaryDirectory() as tmp, baton_server(Path(tmp)) as url:
            wall = asyncio.run(_w3(url, llm_url))
    finally:
        stop()
    return [
        Figure("W3 concurrency", "Baton service, SQLite, defaults", f"{wall:.2f} s", "floor 1.0 s")
    ]


# --- submission latency -----------------------------------------------------------------


async def _submit_latency(url: str, llm_url: str) -> list[float]:
    async with api(url) as client:
        agent_id = await _agent(client, llm_url)
    body = {"agent_id": agent_id, "task_type": "add", "input": {"prompt": PROMPT}}
    http = RawHttp(url, {"Authorization": f"Bearer {KEY}"})
    samples: list[float] = []
    # Open loop: latency counts from the scheduled send time, so a slow server cannot
    # hide its backlog. Every submission carries an idempotency key, as a careful
    # client's would.

    async def post(scheduled: float) -> None:
        status, answer = await http.request(
            "POST", "/api/agents/tasks", {**body, "idempotency_key": uuid.uuid4().hex}
        )
        samples.append((loop.time() - scheduled) * 1000)
        if status != 202:
            raise VoidRun(f"submission answered {status}: {answer}")

    async def steady(seconds: float) -> None:
        t0 = loop.time()
        pending = []
        for i in range(int(SUBMIT_RPS * seconds)):
            scheduled = t0 + i / SUBMIT_RPS
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(post(scheduled)))
        await asyncio.gather(*pending)

    loop = asyncio.get_running_loop()
    try:
        await steady(SUBMIT_WARMUP_SECONDS)  # connections opened, caches and code warm
        samples.clear()
        # The load generator's own GC pauses would count as the server's latency.
        gc.collect()
        gc.freeze()
        await steady(SUBMIT_SECONDS)
    finally:
        await http.aclose()
    return samples


def submit_latency() -> list[Figure]:
    """POST /api/agents/tasks at a steady rate: the API alone, then with the tasks running."""
    llm_url, stop = start_fake_llm(0)
    figures = []
    try:
        for workers, label in (("false", "API only (--no-worker)"), ("true", "tasks running")):
            with (
                tempfile.TemporaryDirectory() as tmp,
                baton_server(Path(tmp), BATON_RUN_WORKERS=workers) as url,
            ):
                samples = asyncio.run(_submit_latency(url, llm_url))
            note = f"{SUBMIT_RPS}/s for {SUBMIT_SECONDS:g} s"
            figures.append(
                Figure("submit latency", f"Baton, SQLite, {label}", latency_summary(samples), note)
            )
    finally:
        stop()
    return figures
