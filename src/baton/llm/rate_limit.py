"""Requests-per-minute limits around any provider, shared by every process through a port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from baton.llm.wrapping import ProviderWrapper


class RequestRateLimiter(Protocol):
    """Admits at most ``limit`` requests per window for a key, waiting when it is spent."""

    async def acquire(self, key: str, limit: int) -> None:
        """Return once one more request under ``key`` fits this window's ``limit``."""
        ...


class RateLimitedProvider(ProviderWrapper):
    """Takes a slot from the limiter before each call (a stream takes one when it starts).

    Args:
        inner: The provider to limit.
        limiter: Where slots are counted; a shared one makes the limit hold across workers.
        key: What the limit is for, usually the provider's name.
        per_minute: Requests allowed per minute.
    """

    def __init__(
        self, inner: LLMProvider, limiter: RequestRateLimiter, key: str, per_minute: int
    ) -> None:
        super().__init__(inner)
        self.limiter = limiter
        self.key = key
        self.per_minute = per_minute

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Generate once the limit admits one more request."""
        await self.limiter.acquire(self.key, self.per_minute)
        return await self.inner.generate(messages, tools, options)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream once the limit admits one more request."""
        await self.limiter.acquire(self.key, self.per_minute)
        async for event in self.inner.stream(messages, tools, options):
            yield event
