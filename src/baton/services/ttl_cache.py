"""A small time-bounded cache for hot reads whose staleness may be bounded, not zero.

Every API request authenticates its key and most task submissions look up an agent: on
a busy server those reads would dominate the request path. A value cached for a few
seconds removes them, and this process drops an entry the moment it changes the thing
itself (a key revoked, an agent updated here); other processes see the change within
the time to live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values kept ``ttl_s`` seconds, at most ``max_entries`` of them (0 s: no caching).

    Args:
        ttl_s: How long a value is served after it was read.
        max_entries: When full, the whole cache is dropped (cheap, and a full cache of
            keys or agents refills in one read each).
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    def get(self, key: K) -> V | None:
        """The cached value, or None when absent or expired."""
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if self._clock() >= expires:
            self._entries.pop(key, None)
            return None
        return value

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, else ``load()``'s, read once however many ask at the same time.

        A burst of requests for a key not cached yet (a thousand submissions to one agent)
        shares one read instead of making a thousand. The read runs as its own task, so a
        caller that goes away does not cancel it for the others; when it raises, everyone
        waiting gets the error. A value whose key was dropped while it loaded is returned
        to those waiting but not kept: it may predate the change.
        """
        value = self.get(key)
        if value is not None:
            return value
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load(key, load))
            loading.add_done_callback(_retrieve)
            self._loading[key] = loading
        return await asyncio.shield(loading)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            current = self._loading.get(key) is asyncio.current_task()
            if current:
                del self._loading[key]
        if current:
            self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for the time to live."""
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = (self._clock() + self.ttl_s, value)

    def drop(self, key: K | None = None) -> None:
        """Forget one key, or everything when ``key`` is None."""
        if key is None:
            self._entries.clear()
            self._loading.clear()
        else:
            self._entries.pop(key, None)
            self._loading.pop(key, None)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a load's error as seen: every caller may have gone before it ended."""
    if not task.cancelled():
        task.exception()
