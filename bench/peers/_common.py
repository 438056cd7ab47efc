"""Shared parts of the peer benchmarks (run inside bench/.venv-peers)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.fakellm import start_fake_llm
from bench.report import Figure

PROMPT = 'add\nCALL add {"a": 2, "b": 3}'
EXPECTED = "DONE: 5"
MODEL = "fake"
API_KEY = "sk-fake"
ADD_TOOL_SCHEMA = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}

W1_TASKS = int(os.environ.get("BENCH_W1_TASKS", "1000"))
W1_WARMUP = int(os.environ.get("BENCH_W1_WARMUP", "20"))
W2_TASKS = int(os.environ.get("BENCH_W2_TASKS", "5000"))
W3_TASKS = int(os.environ.get("BENCH_W3_TASKS", "1000"))
W3_LATENCY_MS = float(os.environ.get("BENCH_W3_LATENCY_MS", "500"))
SLOW = os.environ.get("BENCH_SLOW", "") == "1"

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
PG_DSN = os.environ.get("BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres")


class VoidRun(RuntimeError):
    """A task was lost or its answer garbled: the whole run is void."""


def check_answers(answers: list[object], expected: list[object] | object, what: str) -> None:
    """Raise VoidRun unless every answer is the expected one."""
    wanted = expected if isinstance(expected, list) else [expected] * len(answers)
    if len(answers) != len(wanted):
        raise VoidRun(f"{what}: {len(answers)} answers for {len(wanted)} tasks")
    bad = [(i, a) for i, (a, w) in enumerate(zip(answers, wanted, strict=True)) if a != w]
    if bad:
        raise VoidRun(f"{what}: {len(bad)} wrong answers, first {bad[:3]}")


def add(a: int, b: int) -> int:
    """The benchmark tool."""
    return a + b


@contextmanager
def fake_llm(latency_ms: float = 0) -> Iterator[str]:
    """A fake LLM server in its own process for the duration of the block."""
    base_url, stop = start_fake_llm(latency_ms)
    try:
        yield base_url
    finally:
        stop()


class Timer:
    """Wall-clock seconds of a block."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cli(run: Callable[[list[str]], list[Figure]], workloads: list[str]) -> None:
    """`python -m bench.peers.<name> [--json] [WORKLOAD ...]`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("workloads", nargs="*", help=f"some of {workloads} (default: all)")
    args = parser.parse_args()
    chosen = args.workloads or workloads
    unknown = sorted(set(chosen) - set(workloads))
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {workloads}")
    figures = run(chosen)
    if args.json:
        print(json.dumps([dataclasses.asdict(f) for f in figures]))
    else:
        for f in figures:
            print(f"{f.workload:4} | {f.system:55} | {f.value:30} | {f.note}")
