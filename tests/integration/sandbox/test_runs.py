"""Ordinary sandbox runs, concurrency, and the refusal to run without isolation."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from baton.tools.sandbox import (
    BubblewrapSandbox,
    SandboxLimits,
    SandboxUnavailable,
    build_command,
)
from tests.integration.sandbox.support import needs_bwrap, wait_until_gone

LIMITS = SandboxLimits(wall_timeout_s=30)


@needs_bwrap
async def test_normal_run_returns_stdout_stderr_and_exit_status(
    sandbox: BubblewrapSandbox,
) -> None:
    code = "import sys\nprint('hello', 6 * 7)\nprint('warning', file=sys.stderr)\nsys.exit(3)\n"
    result = await sandbox.run(code, limits=LIMITS)
    assert result.stdout == "hello 42\n"
    assert result.stderr == "warning\n"
    assert result.exit_code == 3
    assert not result.timed_out
    assert result.killed_by_signal is None
    assert not result.truncated
    assert result.duration_ms >= 0


@needs_bwrap
async def test_exception_gives_a_readable_traceback(sandbox: BubblewrapSandbox) -> None:
    result = await sandbox.run("x = 1\nx / 0\n", limits=LIMITS)
    assert result.exit_code == 1
    assert "ZeroDivisionError: division by zero" in result.stderr
    assert "x / 0" in result.stderr  # the source line: the code is a real file


@needs_bwrap
async def test_stdin_is_empty(sandbox: BubblewrapSandbox) -> None:
    result = await sandbox.run("import sys\nprint(repr(sys.stdin.read()))", limits=LIMITS)
    assert result.stdout == "''\n"


@needs_bwrap
async def test_non_utf8_output_is_replaced_not_fatal(sandbox: BubblewrapSandbox) -> None:
    code = "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe')"
    result = await sandbox.run(code, limits=LIMITS)
    assert result.stdout == "ok \ufffd\ufffd"


@needs_bwrap
async def test_many_concurrent_runs(uid_range: range) -> None:
    sandbox = BubblewrapSandbox(uid_range=uid_range, max_concurrent=24)
    code = "import os, time\ntime.sleep(0.3)\nprint({n} * {n}, os.getuid())\n"
    results = await asyncio.wait_for(
        asyncio.gather(*(sandbox.run(code.format(n=n), limits=LIMITS) for n in range(24))),
        timeout=120,
    )
    squares = [int(r.stdout.split()[0]) for r in results]
    uids = {int(r.stdout.split()[1]) for r in results}
    assert squares == [n * n for n in range(24)]
    assert all(r.exit_code == 0 for r in results)
    # each concurrent run had a uid of its own, so process limits are per run
    assert len(uids) == 24
    assert uids <= set(uid_range)
    assert wait_until_gone(uids=uid_range) == []


async def test_missing_bwrap_refuses_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    sandbox = BubblewrapSandbox(bwrap=str(tmp_path / "no-such-bwrap"))
    code = f"open({str(marker)!r}, 'w').write('unsandboxed!')"
    for _ in range(2):  # the verdict is cached, and stays a refusal
        with pytest.raises(SandboxUnavailable, match="no-such-bwrap"):
            await sandbox.run(code, limits=LIMITS)
    assert not marker.exists()


@needs_bwrap
async def test_broken_bwrap_refuses(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    sandbox = BubblewrapSandbox(bwrap="/usr/bin/false")
    with pytest.raises(SandboxUnavailable, match="refused"):
        await sandbox.run(f"open({str(marker)!r}, 'w')", limits=LIMITS)
    assert not marker.exists()


@needs_bwrap
async def test_interpreter_outside_usr_is_refused() -> None:
    sandbox = BubblewrapSandbox(python=sys.executable)  # the project venv: not exposed
    with pytest.raises(SandboxUnavailable, match="interpreter"):
        await sandbox.run("print(1)", limits=LIMITS)


async def test_oversized_code_is_refused_before_anything_runs() -> None:
    sandbox = BubblewrapSandbox(bwrap="/nonexistent")
    with pytest.raises(ValueError, match="over the 10 limit"):
        await sandbox.run("x" * 11, limits=SandboxLimits(code_bytes=10))


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="wall_timeout_s"):
        SandboxLimits(wall_timeout_s=0)
    with pytest.raises(ValueError, match="processes"):
        SandboxLimits(processes=2)


def test_code_never_appears_on_the_command_line() -> None:
    argv = build_command(
        bwrap="/usr/bin/bwrap",
        python="/usr/bin/python3",
        prlimit="/usr/bin/prlimit",
        setpriv="/usr/bin/setpriv",
        uid=60001,
        code_fd=7,
        limits=SandboxLimits(),
    )
    assert argv[0] == "/usr/bin/prlimit"
    assert argv.index("/usr/bin/setpriv") < argv.index("/usr/bin/bwrap")
    assert "--reuid=60001" in argv
    assert "--clearenv" in argv and "--unshare-all" in argv and "--die-with-parent" in argv
    assert argv[-4:] == ["/usr/bin/python3", "-I", "-B", "/tmp/main.py"]
    assert not any(arg in ("-c", "sh", "/bin/sh") for arg in argv)


@pytest.mark.skipif(os.geteuid() != 0, reason="uids are only dropped when Baton runs as root")
def test_privileged_uids_are_refused_for_the_pool() -> None:
    with pytest.raises(ValueError, match="unprivileged"):
        BubblewrapSandbox(uid_range=range(0, 100))


@needs_bwrap
async def test_runs_beyond_the_process_limit_wait_for_a_slot(uid_range: range) -> None:
    sandbox = BubblewrapSandbox(uid_range=uid_range, max_concurrent=2)
    code = "import time\nstart = time.time()\ntime.sleep(0.3)\nprint(start, time.time())\n"
    results = await asyncio.gather(*(sandbox.run(code, limits=LIMITS) for _ in range(5)))
    spans = sorted(tuple(map(float, r.stdout.split())) for r in results)
    # At every moment at most two runs were inside the sandbox.
    for start, _ in spans:
        inside = sum(1 for s, e in spans if s <= start < e)
        assert inside <= 2, spans
    assert len(spans) == 5


def test_the_process_limit_must_allow_a_run() -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        BubblewrapSandbox(max_concurrent=0)
