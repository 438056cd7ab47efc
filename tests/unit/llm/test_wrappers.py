"""Retry, fallback, concurrency limits and accounting, with fake clocks."""

from __future__ import annotations

import asyncio
import random

import pytest

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamDone,
    TextDelta,
    Usage,
)
from baton.llm.accounting import MeteredProvider, Price, PriceTable, UsageMeter
from baton.llm.errors import (
    AuthenticationFailed,
    ContextLengthExceeded,
    InvalidRequest,
    LLMError,
    ModelError,
    ProviderUnavailable,
    RateLimited,
)
from baton.llm.fallback import FallbackProvider
from baton.llm.limits import ConcurrencyLimitedProvider, ConcurrencyLimits
from baton.llm.retry import RetryingProvider, RetryPolicy
from baton.llm.scripted import ScriptedLLM

HELLO = [ChatMessage.user("hello")]


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def unavailable() -> ProviderUnavailable:
    return ProviderUnavailable("503", provider="fake")


async def test_backoff_grows_and_is_jittered_within_bounds() -> None:
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=8.0)
    sleep = FakeSleep()
    llm = ScriptedLLM([unavailable() for _ in range(5)] + ["ok"])
    provider = RetryingProvider(llm, policy, sleep=sleep, rng=random.Random(7))

    assert (await provider.generate(HELLO)).content == "ok"

    caps = [1.0, 2.0, 4.0, 8.0, 8.0]
    assert len(sleep.delays) == 5
    assert all(0 <= delay <= cap for delay, cap in zip(sleep.delays, caps, strict=True))
    assert len(set(sleep.delays)) == 5  # jittered, not fixed


def test_full_jitter_covers_the_whole_range() -> None:
    policy = RetryPolicy(attempts=10, base_delay=1.0, max_delay=100.0)
    rng = random.Random(1)
    delays = [policy.delay(unavailable(), 3, rng) for _ in range(2000)]
    assert all(d is not None and 0 <= d <= 8.0 for d in delays)
    assert min(d for d in delays if d is not None) < 0.5
    assert max(d for d in delays if d is not None) > 7.5


async def test_gives_up_after_the_attempts() -> None:
    sleep = FakeSleep()
    llm = ScriptedLLM([unavailable(), unavailable(), unavailable(), "never"])
    provider = RetryingProvider(llm, RetryPolicy(attempts=3), sleep=sleep)

    with pytest.raises(ProviderUnavailable):
        await provider.generate(HELLO)
    assert len(llm.calls) == 3 and len(sleep.delays) == 2


async def test_retry_after_is_honoured() -> None:
    sleep = FakeSleep()
    llm = ScriptedLLM([RateLimited("429", retry_after=12.5), "ok"])
    provider = RetryingProvider(llm, RetryPolicy(base_delay=0.1), sleep=sleep)

    await provider.generate(HELLO)

    assert sleep.delays == [12.5]


async def test_too_long_retry_after_is_not_waited_for() -> None:
    sleep = FakeSleep()
    llm = ScriptedLLM([RateLimited("429", retry_after=3600), "ok"])
    provider = RetryingProvider(llm, RetryPolicy(max_retry_after=60), sleep=sleep)

    with pytest.raises(RateLimited):
        await provider.generate(HELLO)
    assert sleep.delays == []


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequest("400"),
        ModelError("tool_use_failed"),
        AuthenticationFailed("401"),
        ContextLengthExceeded("too long"),
    ],
)
async def test_no_retry_on_permanent_errors(error: LLMError) -> None:
    sleep = FakeSleep()
    llm = ScriptedLLM([error, "never"])

    with pytest.raises(type(error)):
        await RetryingProvider(llm, sleep=sleep).generate(HELLO)
    assert len(llm.calls) == 1 and sleep.delays == []


async def test_stream_is_retried_before_its_first_event_only() -> None:
    sleep = FakeSleep()
    llm = ScriptedLLM([unavailable(), "hello there"])
    provider = RetryingProvider(llm, sleep=sleep)

    events = [event async for event in provider.stream(HELLO)]

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["hello", " there"]
    assert len(sleep.delays) == 1

    class Breaks(ScriptedLLM):
        async def stream(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
            yield TextDelta("partial")
            raise unavailable()

    with pytest.raises(ProviderUnavailable):
        async for _ in RetryingProvider(Breaks(["x"]), sleep=sleep).stream(HELLO):
            pass
    assert len(sleep.delays) == 1


async def test_fallback_order_and_conditions() -> None:
    first = ScriptedLLM(
        [unavailable(), ContextLengthExceeded("long"), InvalidRequest("bad")], name="a"
    )
    second = ScriptedLLM(["from b", RateLimited("429"), "never"], name="b")
    third = ScriptedLLM(["from c"], name="c")
    chain = FallbackProvider([first, second, third])

    assert (await chain.generate(HELLO)).provider == "b"
    assert (await chain.generate(HELLO)).provider == "c"  # context length, then rate limit
    with pytest.raises(InvalidRequest):
        await chain.generate(HELLO)
    assert (len(first.calls), len(second.calls), len(third.calls)) == (3, 2, 1)
    assert chain.name == "a"


async def test_fallback_raises_the_last_error_when_all_fail() -> None:
    chain = FallbackProvider([ScriptedLLM([unavailable()]), ScriptedLLM([RateLimited("z")])])
    with pytest.raises(RateLimited):
        await chain.generate(HELLO)


async def test_fallback_stream() -> None:
    chain = FallbackProvider([ScriptedLLM([unavailable()]), ScriptedLLM(["streamed"], name="b")])
    events = [event async for event in chain.stream(HELLO)]
    assert isinstance(events[-1], StreamDone) and events[-1].response.provider == "b"


async def test_concurrency_limit_is_respected() -> None:
    limits = ConcurrencyLimits(default=2)
    running = 0
    peak = 0

    async def slow(messages: object, tools: object) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return "done"

    providers = [
        ConcurrencyLimitedProvider(ScriptedLLM(slow), limits.semaphore("openai")) for _ in range(3)
    ]
    other = ConcurrencyLimitedProvider(ScriptedLLM(slow), limits.semaphore("groq"))
    await asyncio.gather(*(p.generate(HELLO) for p in providers for _ in range(4)))
    assert peak == 2
    peak = 0
    await asyncio.gather(
        *(p.generate(HELLO) for p in providers), *(other.generate(HELLO) for _ in range(2))
    )
    assert peak == 4  # groq has its own slots
    assert limits.semaphore("openai") is limits.semaphore("openai")


def test_cost_bills_cached_tokens_once_at_the_cached_price() -> None:
    price = Price(input=2.50, cached_input=1.25, output=10.00)
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cached_tokens=400_000)
    assert price.cost(usage) == pytest.approx(0.6 * 2.50 + 0.4 * 1.25 + 0.1 * 10.00)
    assert Price(input=1.0, output=0.0).cost(usage) == pytest.approx(1.0)


def test_price_lookup() -> None:
    table = PriceTable(
        {
            "gpt-4o": Price(2.5, 10),
            "gpt-4o-mini": Price(0.15, 0.6),
            "groq/llama": Price(0.5, 0.5),
        }
    )
    assert table.find("openai", "gpt-4o-2024-08-06") == Price(2.5, 10)
    assert table.find("openai", "gpt-4o-mini-2024-07-18") == Price(0.15, 0.6)
    assert table.find("groq", "llama") == Price(0.5, 0.5)
    assert table.find("openai_compatible", "llama") is None


async def test_meter_totals_generate_and_stream() -> None:
    meter = UsageMeter(PriceTable({"m": Price(input=1.0, cached_input=0.5, output=2.0)}))
    reply = LLMResponse(content="hi", usage=Usage(1000, 500, 200), model="m")
    llm = MeteredProvider(
        ScriptedLLM([reply, reply, LLMResponse(content="x", model="free")]), meter
    )

    await llm.generate(HELLO)
    _ = [event async for event in llm.stream(HELLO)]
    await llm.generate(HELLO)

    assert meter.calls == 3
    assert meter.usage == Usage(2000, 1000, 400)
    assert meter.cost_usd == pytest.approx(2 * (800 * 1.0 + 200 * 0.5 + 500 * 2.0) / 1e6)
    assert meter.unpriced == {("scripted", "free")}
