"""`baton agents` as an operator runs it: real processes over SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from baton.bootstrap import first_start, start_services
from baton.config import Settings

BATON = str(Path(sys.executable).with_name("baton"))

ASSISTANT = {
    "name": "helper",
    "description": "answers questions",
    "capabilities": ["chat", "general"],
    "tools": ["calculator", {"name": "http_request", "grants": {"hosts": ["api.example.com"]}}],
    "config": {"provider": "local", "model": "smollm2-135m", "max_steps": 4},
}
MATHS = {
    "name": "maths",
    "capabilities": ["math"],
    "tools": ["calculator"],
    "config": {"provider": "scripted", "model": "echo"},
    "status": "active",
}


@pytest.fixture
async def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a Baton whose database has tenant default."""
    data = tmp_path / "data"
    services = await start_services(
        Settings(database_url=db_url, data_dir=data), migrate_schema=False
    )
    try:
        await first_start(services, None)
    finally:
        await services.db.dispose()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    return environ | {
        "BATON_DATABASE_URL": db_url,
        "BATON_DATA_DIR": str(data),
        "BATON_ENABLE_TEST_PROVIDERS": "true",  # the agents use `scripted`
    }


def baton(env: dict[str, str], *args: str, ok: bool = True) -> str:
    proc = subprocess.run(
        [BATON, "agents", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_apply_twice_creates_then_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "helper.yaml").write_text(yaml.safe_dump(ASSISTANT))
    (folder / "maths.json").write_text(json.dumps(MATHS))
    (folder / "notes.txt").write_text("not an agent")

    first = baton(env, "apply", "-f", str(folder))
    assert "created   helper v1" in first and "created   maths v1" in first
    second = baton(env, "apply", "-f", str(folder))
    assert "unchanged helper v1" in second and "unchanged maths v1" in second
    assert "created" not in second and "updated" not in second

    # A description is not versioned; a config change is.
    (folder / "helper.yaml").write_text(yaml.safe_dump(ASSISTANT | {"description": "new"}))
    assert "updated   helper v1" in baton(env, "apply", "-f", str(folder / "helper.yaml"))
    changed = ASSISTANT | {"config": {**ASSISTANT["config"], "max_steps": 8}}
    (folder / "helper.yaml").write_text(yaml.safe_dump(changed))
    assert "updated   helper v2" in baton(env, "apply", "-f", str(folder))
    assert "unchanged helper v2" in baton(env, "apply", "-f", str(folder))
    shown = json.loads(baton(env, "show", "helper"))
    assert shown["config"]["max_steps"] == 8
    assert shown["tools"][1] == {"name": "http_request", "grants": {"hosts": ["api.example.com"]}}

    listed = baton(env, "list")
    assert "helper" in listed and "maths" in listed


def test_create_show_and_errors(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "maths.yaml"
    path.write_text(yaml.safe_dump(MATHS))
    assert "created maths" in baton(env, "create", "-f", str(path))
    assert "already exists" in baton(env, "create", "-f", str(path), ok=False)
    assert json.loads(baton(env, "show", "maths"))["capabilities"] == ["math"]
    assert "no agent" in baton(env, "show", "nobody", ok=False)

    folder = tmp_path / "mixed"
    folder.mkdir()
    bad = MATHS | {"name": "bad", "config": {"provider": "nope", "model": "m"}}
    (folder / "a-bad.yaml").write_text(yaml.safe_dump(bad))
    (folder / "b-typo.yaml").write_text(yaml.safe_dump(MATHS | {"capabilites": ["x"]}))
    (folder / "c-good.yaml").write_text(yaml.safe_dump(ASSISTANT))
    out = baton(env, "apply", "-f", str(folder), ok=False)  # exit 1, but every file is tried
    assert "config.provider" in out
    assert "unknown keys" in out
    assert "created   helper v1" in out
    listed = baton(env, "list")
    assert "helper" in listed and "bad" not in listed
    assert "no tenant" in baton(env, "list", "--tenant", "nowhere", ok=False)
