"""The read cache: values expire, writes drop them, a full cache starts over."""

from __future__ import annotations

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
