"""`baton chat` as a user runs it: offline, no key, the embedded model answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BATON = str(Path(sys.executable).with_name("baton"))


def _env(tmp_path: Path) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["BATON_DATA_DIR"] = str(tmp_path)
    return env


def test_chat_answers_offline_with_the_local_model(tmp_path: Path) -> None:
    out = subprocess.run(
        [BATON, "chat", "Say hello in one short sentence."],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip(), "the local model gave no text"


def test_chat_with_an_unknown_provider_fails_cleanly(tmp_path: Path) -> None:
    out = subprocess.run(
        [BATON, "chat", "--provider", "nope", "hi"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "unknown LLM provider" in out.stderr
    assert "Traceback" not in out.stderr
