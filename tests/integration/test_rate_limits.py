"""Requests-per-minute limits counted in the database hold across workers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from baton.domain.agents import AgentConfig
from baton.domain.messages import ChatMessage
from baton.engine.providers import ProviderPool
from baton.llm.rate_limit import RateLimitedProvider
from baton.llm.scripted import ScriptedLLM
from baton.llm.settings import LLMSettings
from baton.services.rate_limits import DatabaseRateLimiter
from baton.store.database import Database

WINDOW = 0.4


async def test_two_processes_share_one_limit(database: Database) -> None:
    other = Database(database.url)  # a second worker process's own connection pool
    read_at: dict[object, float] = {}

    def clock() -> float:
        # The limiter's last clock read before it admits is the window it counted in;
        # the time after the await may already be in the next window on a busy machine.
        read_at[asyncio.current_task()] = now = time.time()
        return now

    limiters = [DatabaseRateLimiter(db, window_s=WINDOW, clock=clock) for db in (database, other)]
    admitted: Counter[int] = Counter()

    async def call(i: int) -> None:
        await limiters[i % 2].acquire("openai", 3)
        admitted[int(read_at[asyncio.current_task()] // WINDOW)] += 1

    try:
        await asyncio.gather(*(call(i) for i in range(9)))
    finally:
        await other.dispose()
    assert sum(admitted.values()) == 9
    assert max(admitted.values()) <= 3  # never more than the limit in any window
    assert len(admitted) >= 3
    assert await limiters[0].prune() == 0  # nothing is ten windows old yet


class RecordingLimiter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def acquire(self, key: str, limit: int) -> None:
        self.calls.append((key, limit))


async def test_the_pool_wraps_only_providers_with_a_limit() -> None:
    limiter = RecordingLimiter()
    settings = LLMSettings(requests_per_minute={"scripted": 2})
    pool = ProviderPool(settings, limiter)
    limited = pool.for_config(AgentConfig(provider="scripted", model="echo"))
    await limited.generate([ChatMessage.user("x")])
    assert limiter.calls == [("scripted", 2)]
    assert all(isinstance(p, RateLimitedProvider) for p in pool.cached().values())
    unlimited = ProviderPool(LLMSettings(), limiter)
    await unlimited.for_config(AgentConfig(provider="scripted", model="echo")).generate(
        [ChatMessage.user("x")]
    )
    assert limiter.calls == [("scripted", 2)]
    assert not any(isinstance(p, RateLimitedProvider) for p in unlimited.cached().values())


async def test_a_wrapped_provider_answers_after_admission() -> None:
    limiter = RecordingLimiter()
    wrapped = RateLimitedProvider(ScriptedLLM(["hi"]), limiter, "k", 5)
    assert (await wrapped.generate([ChatMessage.user("x")])).content == "hi"
    assert limiter.calls == [("k", 5)]
