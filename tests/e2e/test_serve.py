"""`baton serve` as a user runs it: a real process, a real port, the printed key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from baton.store.migrate import head_revision

BATON = str(Path(sys.executable).with_name("baton"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env["BATON_DATA_DIR"] = str(data_dir)
    return env


def test_serve_on_a_fresh_data_dir_prints_a_working_key(tmp_path: Path) -> None:
    port = _free_port()
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [BATON, "serve", "--port", str(port)],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready, "baton serve did not become ready"
        key = (data / "admin.key").read_text().strip()
        r = httpx.get(
            f"http://127.0.0.1:{port}/api/projects", headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 200
        assert r.json() == {"items": [], "next_cursor": None}
        assert (data / "baton.db").exists()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert key in output  # printed once, on the terminal that started it
    assert output.count(key) == 1
    # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean exit here.
    assert proc.returncode in (0, -15)
    assert "Application shutdown complete" in output


def test_migrate_and_version_commands(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = subprocess.run([BATON, "version"], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.startswith("baton ")
    up = subprocess.run([BATON, "migrate", "upgrade"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    assert f"revision {head_revision()}" in up.stdout
    down = subprocess.run(
        [BATON, "migrate", "downgrade", "0001"], env=env, capture_output=True, text=True
    )
    assert down.returncode == 0 and "revision 0001" in down.stdout
    bad = subprocess.run([BATON, "migrate", "sideways"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
