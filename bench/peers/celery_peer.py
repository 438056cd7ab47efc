"""Celery 5 with Redis broker and result backend (`acks_late=True`).

W2: enqueue 5,000 `add` tasks, then let a prefork worker of concurrency 2 drain them.
The worker is started and idle first, its consumer cancelled, the tasks enqueued, and the
consumer added again: the drain time is that of the queue, not the worker's boot (which is
reported in the note).
W3: 1,000 agent tasks (sync openai SDK inside the task) submitted at once at latency
500 ms, on a gevent pool of 100 (and of 1,000 when BENCH_CELERY_GEVENT=100,1000), and on
prefork concurrency 4 only when BENCH_SLOW=1 (it takes about 250 s).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import celery
import redis

from bench.peers import celery_app
from bench.peers._common import (
    EXPECTED,
    PROMPT,
    SLOW,
    W2_TASKS,
    W3_LATENCY_MS,
    W3_TASKS,
    VoidRun,
    check_answers,
    cli,
    fake_llm,
    log,
)
from bench.report import Figure

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = f"Celery {celery.__version__} + Redis, acks_late"
GEVENT_POOLS = [int(n) for n in os.environ.get("BENCH_CELERY_GEVENT", "100").split(",") if n]


def _redis(db: int) -> redis.Redis:
    return redis.Redis.from_url(f"{celery_app.REDIS_URL}/{db}")


def reset() -> None:
    """Empty the benchmark's own broker and result databases."""
    _redis(celery_app.BROKER_DB).flushdb()
    _redis(celery_app.RESULT_DB).flushdb()


@contextmanager
def worker(pool: str, concurrency: int) -> Iterator[tuple[str, float]]:
    """A Celery worker subprocess, ready to consume; yields (its name, boot seconds)."""
    name = f"bench{os.getpid()}-{pool}{concurrency}@localhost"
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "--quiet",
        "-A",
        "bench.peers.celery_app",
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-Q",
        celery_app.QUEUE,
        "-n",
        name,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "warning",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    # The worker's output goes to stderr: stdout carries only this module's JSON figures.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=sys.stderr, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not celery_app.app.control.ping(destination=[name], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker {name} did not start")
        yield name, time.perf_counter() - started
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: only its processes
                proc.wait()


def wait_results(count: int, timeout: float) -> None:
    """Block until the result database holds `count` results."""
    results = _redis(celery_app.RESULT_DB)
    deadline = time.monotonic() + timeout
    while results.dbsize() < count:
        if time.monotonic() > deadline:
            raise VoidRun(f"only {results.dbsize()} of {count} results after {timeout} s")
        time.sleep(0.005)


def fetch_results(ids: list[str]) -> list[object]:
    """The results of the tasks, in order (a failed task gives its status instead)."""
    results = _redis(celery_app.RESULT_DB)
    answers: list[object] = []
    for start in range(0, len(ids), 1000):
        keys = [f"celery-task-meta-{i}" for i in ids[start : start + 1000]]
        for raw in results.mget(keys):
            meta = json.loads(raw) if raw else {"status": "MISSING"}
            answers.append(meta["result"] if meta["status"] == "SUCCESS" else meta["status"])
    return answers


def w2() -> Figure:
    reset()
    control = celery_app.app.control
    with worker("prefork", 2) as (name, boot):
        control.cancel_consumer(celery_app.QUEUE, destination=[name], reply=True)
        started = time.perf_counter()
        ids = [celery_app.add.apply_async((i, i + 1)).id for i in range(W2_TASKS)]
        enqueue = time.perf_counter() - started
        started = time.perf_counter()
        control.add_consumer(celery_app.QUEUE, destination=[name], reply=True)
        wait_results(W2_TASKS, timeout=600)
        drain = time.perf_counter() - started
    check_answers(fetch_results(ids), [2 * i + 1 for i in range(W2_TASKS)], "Celery W2")
    log(f"W2 Celery: enqueue {W2_TASKS / enqueue:,.0f}/s, drain {W2_TASKS / drain:,.0f}/s")
    return Figure(
        "W2",
        f"{SYSTEM}, prefork 2",
        f"{W2_TASKS / drain:,.0f} tasks/s drain (enqueue {W2_TASKS / enqueue:,.0f}/s)",
        f"{W2_TASKS} tasks; worker boot {boot:.1f} s not counted",
    )


def w3(pool: str, concurrency: int) -> Figure:
    reset()
    with fake_llm(W3_LATENCY_MS) as url, worker(pool, concurrency):
        started = time.perf_counter()
        ids = [celery_app.agent.apply_async((url, PROMPT)).id for _ in range(W3_TASKS)]
        wait_results(W3_TASKS, timeout=1800)
        seconds = time.perf_counter() - started
    check_answers(fetch_results(ids), EXPECTED, f"Celery W3 {pool} {concurrency}")
    log(f"W3 Celery {pool} {concurrency}: {seconds:.2f} s")
    return Figure(
        "W3",
        f"{SYSTEM}, {pool} {concurrency}",
        f"{seconds:.2f} s",
        f"{W3_TASKS} tasks, sync openai SDK in the task",
    )


def run(workloads: list[str]) -> list[Figure]:
    figures = []
    if "w2" in workloads:
        figures.append(w2())
    if "w3" in workloads:
        figures += [w3("gevent", n) for n in GEVENT_POOLS]
        if SLOW:
            figures.append(w3("prefork", 4))
        else:
            figures.append(
                Figure("W3", f"{SYSTEM}, prefork 4", "skipped", "~250 s: set BENCH_SLOW=1")
            )
    return figures


if __name__ == "__main__":
    cli(run, ["w2", "w3"])
