"""The peers Baton is benchmarked against, each in its own module.

The peer modules run inside bench/.venv-peers (made by bench/setup-peers.sh), never in
Baton's environment: the runner calls `bench/.venv-peers/bin/python -m bench.peers.<name>
--json <workloads>` and reads the figures it prints. This file is imported by both sides,
so it uses the standard library and bench.report only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.report import Figure

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "bench" / "setup-peers.sh"
PYTHON = ROOT / "bench" / ".venv-peers" / "bin" / "python"


def run_peer(module: str, workloads: list[str]) -> list[Figure]:
    """Run one peer module in the peers' virtualenv; return its figures."""
    subprocess.run([str(SETUP)], check=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)
    print(f"  peer {module} {' '.join(workloads)} ...", file=sys.stderr, flush=True)
    done = subprocess.run(
        [str(PYTHON), "-m", f"bench.peers.{module}", "--json", *workloads],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"peer {module} {workloads} failed (exit {done.returncode}): void")
    lines = done.stdout.strip().splitlines()
    return [Figure(**f) for f in json.loads(lines[-1])]


def w1() -> list[Figure]:
    """W1, agent-loop overhead: the openai SDK floor and LangGraph (with/without ckpt)."""
    return run_peer("openai_loop", ["w1"]) + run_peer("langgraph_agent", ["w1"])


def w2() -> list[Figure]:
    """W2, durable queue throughput: Celery + Redis and procrastinate + PostgreSQL."""
    return run_peer("celery_peer", ["w2"]) + run_peer("procrastinate_peer", ["w2"])


def w3() -> list[Figure]:
    """W3, I/O-bound concurrency: openai SDK floor, LangGraph, Celery gevent (+ prefork)."""
    return (
        run_peer("openai_loop", ["w3"])
        + run_peer("langgraph_agent", ["w3"])
        + run_peer("celery_peer", ["w3"])
    )
