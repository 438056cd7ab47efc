"""The escape suite: each attempt is contained, and the host is healthy afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baton.tools.sandbox import BubblewrapSandbox, SandboxLimits
from tests.integration.sandbox.support import needs_bwrap, processes_matching, wait_until_gone

pytestmark = needs_bwrap

LIMITS = SandboxLimits(wall_timeout_s=30, cpu_time_s=10)


def _code(source: str, **values: object) -> str:
    """Dedented source with ``{name}`` placeholders filled by repr of the values."""
    return textwrap.dedent(source).format(**{k: repr(v) for k, v in values.items()})


def _token() -> str:
    """A unique, valid ``sleep`` duration to recognise a process by its command line."""
    return f"3600.{uuid.uuid4().int % 10**12:012d}"


@pytest.fixture(autouse=True)
async def _host_stays_healthy(sandbox: BubblewrapSandbox, uid_range: range) -> AsyncIterator[None]:
    yield
    assert wait_until_gone(uids=uid_range) == [], "a sandboxed process outlived its run"
    after = await sandbox.run("print('still fine')", limits=LIMITS)
    assert after.stdout == "still fine\n"


async def test_fork_bomb_stops_at_the_process_limit(sandbox: BubblewrapSandbox) -> None:
    code = """
        import os, time
        children = 0
        while True:
            try:
                pid = os.fork()
            except OSError as exc:
                print("fork refused after", children, type(exc).__name__)
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
    """
    limits = SandboxLimits(wall_timeout_s=30, processes=20)
    result = await sandbox.run(_code(code), limits=limits)
    assert result.stdout.startswith("fork refused after")
    assert int(result.stdout.split()[3]) < 20
    assert "BlockingIOError" in result.stdout
    # the main process exited while its children slept: they died with the run


async def test_unbounded_fork_bomb_is_killed_by_the_wall_timeout(
    sandbox: BubblewrapSandbox,
) -> None:
    code = """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """
    limits = SandboxLimits(wall_timeout_s=2, cpu_time_s=10, processes=16)
    result = await sandbox.run(_code(code), limits=limits)
    assert result.timed_out
    assert result.killed_by_signal == signal.SIGKILL


async def test_memory_bomb_raises_memory_error(sandbox: BubblewrapSandbox) -> None:
    code = """
        try:
            block = bytearray(1024 ** 3)
        except MemoryError:
            print("one GiB refused")
        hoard = []
        try:
            while True:
                hoard.append(bytearray(16 * 1024 ** 2))
        except MemoryError:
            size = len(hoard) * 16
            hoard.clear()
            print("stopped at", size, "MiB")
    """
    limits = SandboxLimits(wall_timeout_s=30, memory_bytes=128 * 1024**2)
    result = await sandbox.run(_code(code), limits=limits)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "one GiB refused"
    assert int(lines[1].split()[2]) < 128


async def test_cpu_loop_is_killed_by_the_cpu_limit(sandbox: BubblewrapSandbox) -> None:
    limits = SandboxLimits(wall_timeout_s=60, cpu_time_s=1)
    result = await sandbox.run("while True:\n    pass\n", limits=limits)
    assert not result.timed_out
    assert result.killed_by_signal in (signal.SIGXCPU, signal.SIGKILL)


async def test_sleep_forever_is_killed_with_its_process_tree(
    sandbox: BubblewrapSandbox,
) -> None:
    token = _token()
    code = """
        import os, subprocess
        subprocess.Popen(["/usr/bin/sleep", {token}])
        os.execv("/usr/bin/sleep", ["sleep", {token}])
    """
    result = await sandbox.run(_code(code, token=token), limits=SandboxLimits(wall_timeout_s=2))
    assert result.timed_out
    assert result.exit_code != 0
    assert result.killed_by_signal == signal.SIGKILL
    assert wait_until_gone(token=token) == []


async def test_cancelled_run_leaves_no_process(sandbox: BubblewrapSandbox) -> None:
    token = _token()
    code = "import os\nos.execv('/usr/bin/sleep', ['sleep', {token}])\n"
    run = asyncio.create_task(sandbox.run(_code(code, token=token), limits=LIMITS))
    deadline = asyncio.get_running_loop().time() + 20
    while not processes_matching(token=token):  # wait until it really runs
        assert asyncio.get_running_loop().time() < deadline, "the run never started"
        await asyncio.sleep(0.05)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert wait_until_gone(token=token) == []


@pytest.mark.parametrize("keeps_pipes", [False, True], ids=["detached", "holding-stdout"])
async def test_daemonised_grandchild_dies_with_the_run(
    sandbox: BubblewrapSandbox, keeps_pipes: bool
) -> None:
    token = _token()
    code = """
        import os, time
        r, w = os.pipe()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.write(w, str(os.getpid()).encode())
                if not {keeps_pipes}:
                    null = os.open("/dev/null", os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(null, fd)
                os.execv("/usr/bin/sleep", ["sleep", {token}])
            os._exit(0)
        os.close(w)
        daemon = int(os.read(r, 32))
        time.sleep(0.3)
        print("daemon running:", os.path.exists(f"/proc/{{daemon}}"))
    """
    result = await sandbox.run(_code(code, token=token, keeps_pipes=keeps_pipes), limits=LIMITS)
    assert result.stdout == "daemon running: True\n", result.stderr
    assert result.exit_code == 0
    assert not result.timed_out
    assert wait_until_gone(token=token) == []


async def test_writing_a_gibibyte_hits_the_file_size_limit(sandbox: BubblewrapSandbox) -> None:
    code = """
        chunk = b"x" * (1024 * 1024)
        try:
            with open("/tmp/big", "wb") as f:
                for _ in range(1024):
                    f.write(chunk)
        except OSError as exc:
            print("refused:", exc.strerror)
    """
    limits = SandboxLimits(wall_timeout_s=30, file_size_bytes=8 * 1024**2)
    result = await sandbox.run(_code(code), limits=limits)
    assert result.stdout == "refused: File too large\n", result.stderr


async def test_filling_the_work_dir_hits_the_tmpfs_size(sandbox: BubblewrapSandbox) -> None:
    code = """
        chunk = b"x" * (1024 * 1024)
        written = 0
        try:
            for n in range(1024):
                with open(f"/tmp/part{{n}}", "wb") as f:
                    for _ in range(4):
                        f.write(chunk)
                        written += 1
        except OSError as exc:
            print("refused:", exc.strerror, written)
    """
    limits = SandboxLimits(
        wall_timeout_s=30, file_size_bytes=64 * 1024**2, tmpfs_bytes=16 * 1024**2
    )
    result = await sandbox.run(_code(code), limits=limits)
    assert result.stdout.startswith("refused: No space left on device"), result.stderr
    assert int(result.stdout.split()[-1]) <= 16


async def test_no_network_not_even_to_the_hosts_loopback(sandbox: BubblewrapSandbox) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    port = server.getsockname()[1]
    code = """
        import socket
        for host, port in [("127.0.0.1", {port}), ("192.0.2.1", 80), ("1.1.1.1", 53),
                           ("::1", {port}), ("2001:db8::1", 443)]:
            try:
                socket.create_connection((host, port), timeout=3).close()
                print("CONNECTED", host)
            except OSError as exc:
                print("blocked", host, type(exc).__name__)
        try:
            socket.getaddrinfo("example.com", 80)
            print("RESOLVED")
        except OSError:
            print("blocked dns")
        print(sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]))
    """
    try:
        result = await sandbox.run(_code(code, port=port), limits=LIMITS)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing from the sandbox ever arrived
    finally:
        server.close()
    lines = result.stdout.splitlines()
    assert len(lines) == 7, result.stderr
    assert all(line.startswith("blocked") for line in lines[:6]), lines
    assert lines[6] == "['lo']"  # its own namespace: no interface but its own loopback


async def test_secrets_of_the_host_are_not_visible(
    sandbox: BubblewrapSandbox, tmp_path: Path
) -> None:
    data_dir = tmp_path / "baton-data"
    data_dir.mkdir()
    secret_file = data_dir / "admin.key"
    secret_file.write_text("bk_super_secret_admin_key")
    secret_file.chmod(0o644)  # readable by anyone: only invisibility protects it
    targets = [
        str(secret_file),
        str(data_dir / "baton.db"),
        "/etc/shadow",
        "/etc/passwd",
        "/root",
        "/home",
        "/work",
        os.getcwd(),
        sys.executable,
        "/usr/local/bin",
    ]
    (data_dir / "baton.db").write_bytes(b"SQLite format 3\x00")
    code = """
        import os
        for path in {targets}:
            try:
                if os.path.isdir(path):
                    print("LISTED", path, os.listdir(path))
                else:
                    print("READ", path, open(path, "rb").read(64))
            except OSError as exc:
                print("hidden", path, type(exc).__name__)
        print("etc present:", os.path.exists("/etc"))
        print("/usr/local holds:", os.listdir("/usr/local"))
    """
    result = await sandbox.run(_code(code, targets=targets), limits=LIMITS)
    assert "bk_super_secret" not in result.stdout
    lines = result.stdout.splitlines()
    assert all(line.startswith("hidden") for line in lines[:-2]), lines
    assert lines[-2] == "etc present: False"
    assert lines[-1] == "/usr/local holds: []"  # an empty tmpfs hides the host's


async def test_nothing_outside_the_work_dir_is_writable(sandbox: BubblewrapSandbox) -> None:
    targets = [
        "/escape",
        "/usr/escape",
        "/usr/local/escape",
        "/usr/lib/escape",
        "/bin/escape",
        "/dev/escape",
        "/dev/shm/escape",
        "/proc/sys/kernel/hostname",
        "/proc/sysrq-trigger",
        "/etc/escape",
    ]
    code = """
        for path in {targets}:
            try:
                with open(path, "w") as f:
                    f.write("x")
                print("WROTE", path)
            except OSError as exc:
                print("refused", path, exc.strerror)
        with open("/tmp/inside", "w") as f:
            f.write("fine")
        print("work dir writable:", open("/tmp/inside").read())
    """
    result = await sandbox.run(_code(code, targets=targets), limits=LIMITS)
    lines = result.stdout.splitlines()
    assert all(line.startswith("refused") for line in lines[:-1]), lines
    assert lines[-1] == "work dir writable: fine"


async def test_huge_output_is_capped_and_flagged(sandbox: BubblewrapSandbox) -> None:
    code = "import sys\nsys.stdout.write('o' * 300_000)\nsys.stderr.write('e' * 300_000)\n"
    result = await sandbox.run(code, limits=SandboxLimits(wall_timeout_s=30, output_bytes=65536))
    assert result.exit_code == 0  # under the flood budget: it ran to completion
    assert result.truncated
    assert result.stdout == "o" * 65536
    assert result.stderr == "e" * 65536


async def test_endless_output_is_cut_off(sandbox: BubblewrapSandbox) -> None:
    code = "while True:\n    print('spam' * 1000)\n"
    result = await sandbox.run(code, limits=SandboxLimits(wall_timeout_s=60, output_bytes=4096))
    assert result.truncated
    assert len(result.stdout) == 4096
    assert not result.timed_out
    assert result.killed_by_signal == signal.SIGKILL


async def test_parent_environment_is_not_visible(
    sandbox: BubblewrapSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_ADMIN_KEY", "bk_env_secret_value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-secret-value")
    code = """
        import glob, json, os
        leaked = []
        for path in glob.glob("/proc/*/environ"):
            try:
                if b"env_secret" in open(path, "rb").read().replace(b"-", b"_"):
                    leaked.append(path)
            except OSError:
                pass
        print(json.dumps({{"env": dict(os.environ), "leaked": leaked}}))
    """
    result = await sandbox.run(_code(code), limits=LIMITS)
    assert "secret" not in result.stdout
    report = json.loads(result.stdout)
    assert report["leaked"] == []
    assert set(report["env"]) <= {"PATH", "HOME", "LANG", "PWD", "LC_CTYPE"}
