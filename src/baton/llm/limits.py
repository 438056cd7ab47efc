"""Bounding how many requests run at once against one provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from baton.llm.wrapping import ProviderWrapper


class ConcurrencyLimits:
    """One semaphore per provider name, shared by every provider object built with it.

    Args:
        default: Requests allowed at once for providers not in ``per_provider``.
        per_provider: Overrides by provider name.
    """

    def __init__(self, default: int = 16, per_provider: dict[str, int] | None = None) -> None:
        self.default = default
        self.per_provider = dict(per_provider or {})
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def semaphore(self, provider: str) -> asyncio.Semaphore:
        """The semaphore for ``provider``, created on first use."""
        if provider not in self._semaphores:
            limit = self.per_provider.get(provider, self.default)
            self._semaphores[provider] = asyncio.Semaphore(limit)
        return self._semaphores[provider]


class ConcurrencyLimitedProvider(ProviderWrapper):
    """Holds a semaphore slot for the whole of each call (a stream until it ends).

    Args:
        inner: The provider to limit.
        semaphore: The slots; share one between providers that share a quota.
    """

    def __init__(self, inner: LLMProvider, semaphore: asyncio.Semaphore) -> None:
        super().__init__(inner)
        self.semaphore = semaphore

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Generate once a slot is free."""
        async with self.semaphore:
            return await self.inner.generate(messages, tools, options)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream once a slot is free, keeping it until the stream ends."""
        async with self.semaphore:
            async for event in self.inner.stream(messages, tools, options):
                yield event
