"""`baton tasks` as a user runs it, against a `baton serve` process on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from baton.client import BatonClient

BATON = str(Path(sys.executable).with_name("baton"))


@dataclass
class Served:
    """A running `baton serve`, its URL, data dir, admin key and an echo agent."""

    url: str
    data: Path
    key: str
    agent: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(BATON_DATA_DIR=str(self.data), BATON_URL=self.url, COLUMNS="200")
        env.update(extra)
        return env

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BATON, "tasks", *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=60,
        )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp: Path, *flags: str, **settings: str) -> Iterator[Served]:
    port, data = _free_port(), tmp / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env["BATON_DATA_DIR"] = str(data)
    env["BATON_ENABLE_TEST_PROVIDERS"] = "true"  # the echo agent uses `scripted`
    env.update(settings)
    proc = subprocess.Popen(
        [BATON, "serve", "--port", str(port), *flags],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        key = (data / "admin.key").read_text().strip()
        body = {
            "name": "echoer",
            "capabilities": ["echo"],
            "config": {"provider": "scripted", "model": "echo"},
        }
        r = httpx.post(f"{url}/api/agents", json=body, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201, r.text
        yield Served(url, data, key, r.json()["id"])
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module", params=["flag", "setting"])
def idle(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Served]:
    """A server with no workers (``--no-worker`` or ``BATON_RUN_WORKERS=false``): tasks wait."""
    tmp = tmp_path_factory.mktemp("idle")
    if request.param == "flag":
        yield from _serve(tmp, "--no-worker")
    else:
        yield from _serve(tmp, BATON_RUN_WORKERS="false")


def test_submit_wait_prints_the_output(served: Served) -> None:
    out = served.run("submit", "--agent", served.agent, "--type", "echo", "hello there", "--wait")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "echo: hello there"
    by_type = served.run("submit", "--type", "echo", "picked by type", "--wait")
    assert by_type.returncode == 0 and by_type.stdout.strip() == "echo: picked by type"


def test_submit_get_list(served: Served) -> None:
    out = served.run("submit", "--agent", served.agent, "--type", "echo", "count me")
    assert out.returncode == 0, out.stderr
    task_id = out.stdout.strip()
    with BatonClient(served.url, served.key) as client:
        assert client.wait(task_id, timeout=30).status == "completed"
    shown = served.run("get", task_id)
    assert shown.returncode == 0, shown.stderr
    assert task_id in shown.stdout and "completed" in shown.stdout
    assert "echo: count me" in shown.stdout and "usage" in shown.stdout
    raw = json.loads(served.run("get", task_id, "--json").stdout)
    assert raw["id"] == task_id and raw["result"]["output"] == "echo: count me"
    listed = served.run("list", "--status", "completed", "--agent", served.agent)
    assert listed.returncode == 0, listed.stderr
    assert task_id in listed.stdout and "completed" in listed.stdout
    one = json.loads(served.run("list", "--limit", "1", "--json").stdout)
    assert [t["id"] for t in one] == [task_id]  # newest first
    assert json.loads(served.run("list", "--status", "failed", "--json").stdout) == []


def test_watch_a_task_then_the_tenant(served: Served) -> None:
    task_id = served.run("submit", "--agent", served.agent, "--type", "echo", "w").stdout.strip()
    watched = served.run("watch", task_id)
    assert watched.returncode == 0, watched.stderr
    lines = watched.stdout.splitlines()
    assert [s for s in ("submitted", "running", "completed") if f"{task_id} {s}" in lines] == [
        "submitted",
        "running",
        "completed",
    ]
    assert "echo: w" in watched.stdout

    live = subprocess.Popen(
        [BATON, "tasks", "watch"],
        env=served.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # let it connect; it replays nothing older than it asks for
        other = served.run("submit", "--agent", served.agent, "--type", "echo", "x").stdout.strip()
        assert live.stdout is not None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            seen.append(live.stdout.readline())
            if f"{other} completed" in seen[-1]:
                break
        assert any(f"{other} completed" in line for line in seen), seen
    finally:
        live.send_signal(signal.SIGINT)
        _, errors = live.communicate(timeout=20)
    assert live.returncode == 0, errors
    assert "Traceback" not in errors


def test_cancel(idle: Served) -> None:
    task_id = idle.run("submit", "--agent", idle.agent, "--type", "echo", "never").stdout.strip()
    out = idle.run("cancel", task_id)
    assert out.returncode == 0, out.stderr
    assert f"{task_id}: cancelled" in out.stdout
    assert "cancelled" in idle.run("get", task_id).stdout
    waited = idle.run("watch", task_id)
    assert waited.returncode == 1 and "cancelled" in waited.stdout


def test_errors_are_clean_with_exit_codes(served: Served) -> None:
    missing = served.run("get", "no-such-task")
    assert missing.returncode == 1 and "not_found" in missing.stderr
    assert served.run("cancel", "no-such-task").returncode == 1
    assert served.run("watch", "no-such-task").returncode == 1
    bad_key = served.run("list", "--key", "bk_wrong")
    assert bad_key.returncode == 2 and "API key" in bad_key.stderr
    refused = served.run("submit", "--agent", "no-such-agent", "x")
    assert refused.returncode == 2 and "agent_id" in refused.stderr
    usage = served.run("submit")
    assert usage.returncode == 2
    down = served.run("list", BATON_URL="http://127.0.0.1:1")
    assert down.returncode == 1 and "cannot reach Baton" in down.stderr
    for result in (missing, bad_key, refused, usage, down):
        assert "Traceback" not in result.stderr + result.stdout
