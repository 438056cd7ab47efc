"""Counting failed sign-ins per client address, to slow down guessing of API keys.

A fixed window per address: after ``max_failures`` failures within ``window_s`` seconds
the address is refused until its window ends, even with a valid key (a guesser cannot
tell a hit from a miss). Memory is bounded: at most ``max_addresses`` windows are kept,
the oldest dropped first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["FailureWindow"]


class FailureWindow:
    """Failures per key (a client address) in fixed time windows."""

    def __init__(
        self,
        max_failures: int,
        window_s: float = 60.0,
        *,
        max_addresses: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Refuse an address after ``max_failures`` failures in ``window_s`` (0: never)."""
        self._max = max_failures
        self._window = window_s
        self._cap = max_addresses
        self._clock = clock
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def blocked_for(self, address: str) -> float:
        """Seconds until ``address`` may try again, or 0 when it may now."""
        if self._max <= 0:
            return 0.0
        found = self._windows.get(address)
        if found is None:
            return 0.0
        started, failures = found
        left = started + self._window - self._clock()
        if left <= 0:
            del self._windows[address]
            return 0.0
        return left if failures >= self._max else 0.0

    def failed(self, address: str) -> None:
        """Count one failure of ``address``."""
        if self._max <= 0:
            return
        now = self._clock()
        started, failures = self._windows.pop(address, (now, 0))
        if started + self._window <= now:
            started, failures = now, 0
        self._windows[address] = (started, failures + 1)
        while len(self._windows) > self._cap:
            self._windows.popitem(last=False)
