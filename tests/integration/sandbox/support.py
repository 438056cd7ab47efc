"""Helpers of the sandbox suite: skipping without bwrap, finding processes through /proc."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed (scripts/system-deps.sh installs it)",
)


def processes_matching(*, uids: range | None = None, token: str | None = None) -> list[int]:
    """Live pids on the host owned by one of ``uids`` or whose command line holds ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if token is not None and token.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
                continue
            if uids is not None:
                status = (entry / "status").read_text()
                real_uid = int(status.split("\nUid:")[1].split()[0])
                # A zombie has finished; only the host's init has yet to reap it (slowly,
                # on some machines) so it is dead.
                zombie = status.split("\nState:")[1].split()[0] == "Z"
                if real_uid in uids and not zombie:
                    found.append(int(entry.name))
        except (OSError, IndexError):
            continue  # the process ended while we looked
    return [pid for pid in found if pid != os.getpid()]


def wait_until_gone(*, uids: range | None = None, token: str | None = None) -> list[int]:
    """Leftover pids after a generous grace (a pid namespace is torn down asynchronously)."""
    deadline = time.monotonic() + 10
    while (left := processes_matching(uids=uids, token=token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
