"""The base of providers that wrap another provider (retry, fallback, limits, accounting)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider


class ProviderWrapper:
    """Passes everything through to ``inner``; subclasses override what they change.

    Args:
        inner: The wrapped provider.
    """

    def __init__(self, inner: LLMProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Delegate to the wrapped provider."""
        return await self.inner.generate(messages, tools, options)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Delegate to the wrapped provider."""
        async for event in self.inner.stream(messages, tools, options):
            yield event

    async def aclose(self) -> None:
        """Close the wrapped provider."""
        await self.inner.aclose()
