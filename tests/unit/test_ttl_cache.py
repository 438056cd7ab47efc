"""The read cache: values expire, writes drop them, a full cache starts over."""

from __future__ import annotations

import asyncio

import pytest

from baton.services.ttl_cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_served_until_its_time_to_live_ends() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(5.0, clock=clock)
    cache.put("k", 1)
    clock.now += 4.9
    assert cache.get("k") == 1
    clock.now += 0.1
    assert cache.get("k") is None
    assert cache.get("never") is None


def test_drop_forgets_one_key_or_all() -> None:
    cache: TtlCache[str, int] = TtlCache(60.0)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.drop("a")
    assert (cache.get("a"), cache.get("b")) == (None, 2)
    cache.drop()
    assert cache.get("b") is None


def test_zero_seconds_caches_nothing_and_a_full_cache_starts_over() -> None:
    off: TtlCache[str, int] = TtlCache(0.0)
    off.put("k", 1)
    assert off.get("k") is None
    small: TtlCache[int, int] = TtlCache(60.0, max_entries=3)
    for i in range(3):
        small.put(i, i)
    small.put(3, 3)
    assert small.get(0) is None and small.get(3) == 3


async def test_concurrent_misses_share_one_load() -> None:
    cache: TtlCache[str, int] = TtlCache(60.0)
    calls = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 7

    waiting = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [7] * 50
    assert calls == 1
    assert await cache.get_or_load("k", load) == 7 and calls == 1  # now cached


async def test_a_failed_load_fails_everyone_waiting_and_is_not_kept() -> None:
    cache: TtlCache[str, int] = TtlCache(60.0)
    gate = asyncio.Event()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        raise LookupError("gone")

    waiting = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results) and calls == 1
    with pytest.raises(LookupError):
        await cache.get_or_load("k", load)
    assert calls == 2


async def test_a_caller_going_away_does_not_cancel_the_load_for_the_others() -> None:
    cache: TtlCache[str, int] = TtlCache(60.0)
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        return 3

    first = asyncio.create_task(cache.get_or_load("k", load))
    second = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert await second == 3
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_value_dropped_while_loading_is_returned_but_not_kept() -> None:
    cache: TtlCache[str, int] = TtlCache(60.0)
    gate = asyncio.Event()
    version = 1

    started = asyncio.Event()

    async def load() -> int:
        read = version  # what the database held when the read ran
        started.set()
        await gate.wait()
        return read

    stale = asyncio.create_task(cache.get_or_load("k", load))
    await started.wait()
    cache.drop("k")  # the agent changed while the read was in flight
    version = 2
    gate.set()
    assert await stale == 1
    assert cache.get("k") is None
    assert await cache.get_or_load("k", load) == 2
