"""Retrying transient provider failures with exponential backoff and full jitter."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.errors import LLMError, RateLimited
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from baton.llm.wrapping import ProviderWrapper

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait.

    Attributes:
        attempts: Tries in all, the first included.
        base_delay: Seconds; the n-th retry waits up to ``base_delay * 2**n`` (full jitter).
        max_delay: Cap on the backoff before jitter.
        max_retry_after: A ``Retry-After`` longer than this is not waited for: the error goes
            to the caller (or the next provider of a fallback chain) at once.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def delay(self, error: LLMError, retry: int, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based), or ``None`` to give up."""
        if not error.retryable or retry + 1 >= self.attempts:
            return None
        backoff = rng.uniform(0, min(self.max_delay, self.base_delay * 2**retry))
        if isinstance(error, RateLimited) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return max(error.retry_after, backoff)
        return backoff


class RetryingProvider(ProviderWrapper):
    """Retries RateLimited and ProviderUnavailable; everything else passes straight through.

    A stream is retried only while it has yielded nothing: after the first event the
    caller has already seen output that a retry would repeat.

    Args:
        inner: The provider to retry.
        policy: Attempts and delays.
        sleep: Awaited with each delay; tests pass a fake that returns at once.
        rng: The jitter's randomness.
    """

    def __init__(
        self,
        inner: LLMProvider,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(inner)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    async def _wait_or_raise(self, error: LLMError, retry: int) -> None:
        delay = self.policy.delay(error, retry, self._rng)
        if delay is None:
            raise error
        await self._sleep(delay)

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Generate, retrying transient failures."""
        retry = 0
        while True:
            try:
                return await self.inner.generate(messages, tools, options)
            except LLMError as error:
                await self._wait_or_raise(error, retry)
                retry += 1

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream, retrying transient failures that happen before the first event."""
        retry = 0
        while True:
            started = False
            try:
                async for event in self.inner.stream(messages, tools, options):
                    started = True
                    yield event
                return
            except LLMError as error:
                if started:
                    raise
                await self._wait_or_raise(error, retry)
                retry += 1
