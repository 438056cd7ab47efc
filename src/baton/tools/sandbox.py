"""The code sandbox: untrusted Python run under bubblewrap with no network and hard limits.

Every run is ``prlimit`` (rlimits set before anything else executes) → ``setpriv`` (drop
to an unprivileged uid from a pool, one uid per concurrent run) → ``bwrap`` (every
namespace unshared, read-only ``/usr`` only, a size-limited tmpfs as the work dir, an
empty environment) → the system ``python3`` reading the code from a file in the tmpfs.
The code never appears on a command line and no shell is involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Protocol

__all__ = [
    "BubblewrapSandbox",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "build_command",
]

WORK_DIR = "/tmp"  # noqa: S108 - a fresh tmpfs inside the sandbox, not the host's /tmp
CODE_PATH = f"{WORK_DIR}/main.py"
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "HOME": WORK_DIR, "LANG": "C.UTF-8"}
DEFAULT_UID_RANGE = range(60000, 61000)

# A run may write this many times its output cap before it is killed: enough to let a
# chatty program finish, bounded so an endless print loop does not burn our CPU.
_FLOOD_FACTOR = 16
_READ_CHUNK = 65536

# Namespaces and the read-only view of the host. Nothing of /etc, /home, /root, /work or
# Baton's data dir is mounted; the system python needs only /usr.
_ISOLATION: tuple[tuple[str, ...], ...] = (
    ("--unshare-all", "--unshare-user", "--disable-userns"),
    ("--die-with-parent", "--new-session", "--hostname", "sandbox"),
    ("--ro-bind", "/usr", "/usr"),
    # /usr/local holds host-specific software (toolchains, servers): hide it.
    ("--tmpfs", "/usr/local", "--remount-ro", "/usr/local"),
    ("--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"),
    ("--symlink", "usr/bin", "/bin"),
    ("--proc", "/proc", "--dev", "/dev"),
    # bwrap's /dev is an unsized tmpfs: read-only, or writes there bypass tmpfs_bytes.
    ("--remount-ro", "/dev"),
)
# After the sandbox exits its pipes close at once (its pid namespace dies with it);
# the grace only guards against a surprise.
_PIPE_GRACE_S = 5.0


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run here (bubblewrap missing or refused); nothing was executed."""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Resource limits of one sandbox run.

    Attributes:
        wall_timeout_s: Wall-clock seconds before the whole process tree is killed.
        cpu_time_s: CPU seconds per process (RLIMIT_CPU; SIGXCPU, then SIGKILL a second later).
        memory_bytes: Address space per process (RLIMIT_AS).
        file_size_bytes: Largest file a process may write (RLIMIT_FSIZE).
        tmpfs_bytes: Size of the writable work directory.
        open_files: Open file descriptors per process (RLIMIT_NOFILE).
        processes: Processes and threads of the run (RLIMIT_NPROC of its own uid).
        output_bytes: Bytes kept of stdout and of stderr each; the rest is dropped.
        code_bytes: Largest accepted source code.
    """

    wall_timeout_s: float = 10.0
    cpu_time_s: int = 5
    memory_bytes: int = 256 * 1024 * 1024
    file_size_bytes: int = 16 * 1024 * 1024
    tmpfs_bytes: int = 64 * 1024 * 1024
    open_files: int = 64
    processes: int = 32
    output_bytes: int = 64 * 1024
    code_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"SandboxLimits.{field.name} must be positive")
        if self.processes < 4:
            raise ValueError("SandboxLimits.processes must be at least 4 (bwrap needs 3)")


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What a sandbox run produced.

    Attributes:
        stdout: Standard output, decoded as UTF-8 (invalid bytes replaced), at most the cap.
        stderr: Standard error, likewise.
        exit_code: Exit status as bubblewrap reports it: 128+N when the code was killed by
            signal N; negative -N when Baton killed the sandbox (timeout, output flood).
        timed_out: The wall-clock timeout fired and the run was killed.
        killed_by_signal: The signal that ended the code, if any (derived from exit_code).
        truncated: stdout or stderr exceeded the output cap and was cut.
        duration_ms: Wall-clock duration of the run.
    """

    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool
    killed_by_signal: int | None
    truncated: bool
    duration_ms: int


class Sandbox(Protocol):
    """Port: runs untrusted Python code in isolation."""

    async def run(self, code: str, *, limits: SandboxLimits) -> SandboxResult:
        """Run ``code`` with ``python3`` under ``limits`` and report what happened.

        Raises:
            SandboxUnavailable: When isolation cannot be guaranteed; the code did not run.
        """
        ...


def build_command(
    *,
    bwrap: str,
    python: str,
    prlimit: str,
    setpriv: str | None,
    uid: int | None,
    code_fd: int,
    limits: SandboxLimits,
) -> list[str]:
    """The argv of one run; the code itself is read by bwrap from ``code_fd``.

    Args:
        bwrap: Path of the bubblewrap binary.
        python: Interpreter inside the sandbox; must live under ``/usr``.
        prlimit: Path of util-linux ``prlimit``.
        setpriv: Path of util-linux ``setpriv``; None to keep the current uid.
        uid: Unprivileged uid (and gid) to run as; None to keep the current uid.
        code_fd: Inherited file descriptor holding the source code.
        limits: Resource limits of the run.
    """
    cpu = limits.cpu_time_s
    argv = [
        prlimit,
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={limits.memory_bytes}",
        f"--fsize={limits.file_size_bytes}",
        f"--nofile={limits.open_files}",
        f"--nproc={limits.processes}",
        "--core=0",
    ]
    if setpriv is not None and uid is not None:
        argv += [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    argv += [bwrap, *(arg for group in _ISOLATION for arg in group)]
    argv += ["--size", str(limits.tmpfs_bytes), "--tmpfs", WORK_DIR]
    argv += ["--file", str(code_fd), CODE_PATH, "--chdir", WORK_DIR]
    # bwrap's root is an unsized tmpfs: read-only, or writes there bypass tmpfs_bytes.
    argv += ["--remount-ro", "/", "--clearenv"]
    for name, value in SANDBOX_ENV.items():
        argv += ["--setenv", name, value]
    argv += ["--", python, "-I", "-B", CODE_PATH]
    return argv


class _UidPool:
    """Hands out distinct uids to concurrent runs so their RLIMIT_NPROC counts are separate."""

    def __init__(self, uids: Sequence[int]) -> None:
        self._uids = list(uids)
        self._busy: set[int] = set()
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            # Random rather than lowest-free: other Baton processes on the host draw from
            # the same range, and random picks make them rarely meet.
            for _ in range(8):
                uid = random.choice(self._uids)  # noqa: S311 - not a secret
                if uid not in self._busy:
                    break
            else:
                free = [u for u in self._uids if u not in self._busy]
                if not free:
                    raise SandboxUnavailable(f"all {len(self._uids)} sandbox uids are busy")
                uid = free[0]
            self._busy.add(uid)
            return uid

    def release(self, uid: int) -> None:
        with self._lock:
            self._busy.discard(uid)


class _Capture:
    """Reads one stream to its end, keeping the first ``cap`` bytes."""

    def __init__(self, cap: int, on_flood: Callable[[], None]) -> None:
        self.data = bytearray()
        self.total = 0
        self._cap = cap
        self._on_flood = on_flood

    @property
    def truncated(self) -> bool:
        return self.total > self._cap

    async def drain(self, stream: asyncio.StreamReader) -> None:
        flooded = False
        while chunk := await stream.read(_READ_CHUNK):
            room = self._cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]
            self.total += len(chunk)
            if not flooded and self.total > self._cap * _FLOOD_FACTOR:
                flooded = True
                self._on_flood()
            # Keep reading after a flood so the pipe reaches EOF once the sandbox is dead.

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class BubblewrapSandbox:
    """Runs Python code with bubblewrap; refuses to run at all when isolation is unavailable.

    When Baton runs as root every run drops to a uid of ``uid_range`` (one per concurrent
    run, so the process limit is per run); otherwise runs keep Baton's uid, whose process
    count then includes Baton's own threads.
    """

    def __init__(
        self,
        *,
        bwrap: str | None = None,
        python: str = "/usr/bin/python3",
        prlimit: str = "/usr/bin/prlimit",
        setpriv: str = "/usr/bin/setpriv",
        uid_range: Sequence[int] = DEFAULT_UID_RANGE,
        max_concurrent: int = 8,
    ) -> None:
        """Use these binaries; at most ``max_concurrent`` runs at once in this process.

        Runs beyond ``max_concurrent`` wait for a slot (within their tool call's time
        limit), so a burst of code calls cannot fork the host out of processes or memory.
        """
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._slots = asyncio.Semaphore(max_concurrent)
        self._bwrap = bwrap if bwrap is not None else (shutil.which("bwrap") or "bwrap")
        self._python = python
        self._prlimit = prlimit
        self._setpriv = setpriv
        self._drop_privileges = os.geteuid() == 0
        if self._drop_privileges and (not uid_range or min(uid_range) < 1000):
            raise ValueError("uid_range must hold unprivileged uids (1000 and above)")
        self._uids = _UidPool(uid_range)
        self._unavailable: str | None = None
        self._probed = False

    async def run(self, code: str, *, limits: SandboxLimits) -> SandboxResult:
        """Run ``code`` in a fresh sandbox under ``limits``.

        Raises:
            SandboxUnavailable: When bubblewrap is missing or cannot isolate on this host.
            ValueError: When the code exceeds ``limits.code_bytes``.
        """
        source = code.encode("utf-8")
        if len(source) > limits.code_bytes:
            raise ValueError(f"code is {len(source)} bytes, over the {limits.code_bytes} limit")
        await self._ensure_available()
        return await self._execute(source, limits)

    async def _ensure_available(self) -> None:
        if not self._probed:
            self._unavailable = await self._probe()
            self._probed = True
        if self._unavailable is not None:
            raise SandboxUnavailable(self._unavailable)

    async def _probe(self) -> str | None:
        """Why the sandbox cannot run here, or None when a trivial run succeeds."""
        problem = self._check_binaries()
        if problem is not None:
            return problem
        try:
            result = await self._execute(b"print('ok')", SandboxLimits(wall_timeout_s=30))
        except OSError as exc:
            return f"sandbox unavailable: cannot start bubblewrap: {exc}"
        if result.exit_code != 0 or result.stdout.strip() != "ok":
            detail = result.stderr.strip()[-500:] or f"exit status {result.exit_code}"
            return f"sandbox unavailable: bubblewrap refused to run: {detail}"
        return None

    def _check_binaries(self) -> str | None:
        binaries = [self._bwrap, self._prlimit] + ([self._setpriv] if self._drop_privileges else [])
        for path in binaries:
            if not (os.path.isabs(path) and os.access(path, os.X_OK)):
                return f"sandbox unavailable: {path!r} is not an executable file"
        real_python = os.path.realpath(self._python)
        if not real_python.startswith("/usr/") or real_python.startswith("/usr/local/"):
            return f"sandbox unavailable: {self._python!r} is not a system interpreter under /usr"
        return None

    async def _execute(self, source: bytes, limits: SandboxLimits) -> SandboxResult:
        async with self._slots:
            return await self._execute_in_slot(source, limits)

    async def _execute_in_slot(self, source: bytes, limits: SandboxLimits) -> SandboxResult:
        uid = self._uids.acquire() if self._drop_privileges else None
        try:
            return await self._spawn_and_wait(source, limits, uid)
        finally:
            if uid is not None:
                self._uids.release(uid)

    async def _spawn_and_wait(
        self, source: bytes, limits: SandboxLimits, uid: int | None
    ) -> SandboxResult:
        code_fd = os.memfd_create("baton-sandbox-code", 0)
        try:
            os.write(code_fd, source)
            os.lseek(code_fd, 0, os.SEEK_SET)
            argv = build_command(
                bwrap=self._bwrap,
                python=self._python,
                prlimit=self._prlimit,
                setpriv=self._setpriv if uid is not None else None,
                uid=uid,
                code_fd=code_fd,
                limits=limits,
            )
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(code_fd,),
                start_new_session=True,
                env=dict(SANDBOX_ENV),
            )
        finally:
            os.close(code_fd)

        killed = False

        def kill() -> None:
            nonlocal killed
            killed = killed or proc.returncode is None
            _kill_tree(proc)

        assert proc.stdout is not None and proc.stderr is not None
        out = _Capture(limits.output_bytes, kill)
        err = _Capture(limits.output_bytes, kill)
        readers = [
            asyncio.create_task(out.drain(proc.stdout)),
            asyncio.create_task(err.drain(proc.stderr)),
        ]
        timed_out = False
        try:
            try:
                await asyncio.wait_for(proc.wait(), timeout=limits.wall_timeout_s)
            except TimeoutError:
                timed_out = True
                kill()
                await proc.wait()
            await asyncio.wait(readers, timeout=_PIPE_GRACE_S)
        finally:
            if proc.returncode is None:
                kill()
                await proc.wait()
            for reader in readers:
                reader.cancel()
        duration_ms = int((time.monotonic() - started) * 1000)
        exit_code = proc.returncode
        assert exit_code is not None
        return SandboxResult(
            stdout=out.text(),
            stderr=err.text(),
            exit_code=exit_code,
            timed_out=timed_out,
            # When Baton killed the run, say so: bwrap itself may exit 255 rather than
            # report the signal, depending on which process of the chain died first.
            killed_by_signal=signal.SIGKILL if killed else _signal_of(exit_code),
            truncated=out.truncated or err.truncated,
            duration_ms=duration_ms,
        )


def _kill_tree(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL bwrap; its pid namespace, and so every process of the run, dies with it."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _signal_of(exit_code: int) -> int | None:
    if exit_code < 0:
        return -exit_code
    if 128 < exit_code < 128 + signal.NSIG:
        return exit_code - 128
    return None
