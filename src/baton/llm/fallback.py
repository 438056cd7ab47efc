"""Trying the next provider of a chain when one fails in a way another may not."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.errors import ContextLengthExceeded, LLMError
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from baton.llm.wrapping import ProviderWrapper


def falls_back(error: LLMError) -> bool:
    """Whether another provider may succeed where this one failed.

    Transient failures (after their retries) and a too-small context window do; a request
    the provider called invalid, a model error or a bad key do not.
    """
    return error.retryable or isinstance(error, ContextLengthExceeded)


class FallbackProvider(ProviderWrapper):
    """Tries each provider in order; reports as the first one.

    A stream falls back only while it has yielded nothing.

    Args:
        providers: The chain, preferred first.
    """

    def __init__(self, providers: Sequence[LLMProvider]) -> None:
        if not providers:
            raise ValueError("a fallback chain needs at least one provider")
        super().__init__(providers[0])
        self.providers = tuple(providers)

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Generate with the first provider that does not fail over."""
        for provider in self.providers[:-1]:
            try:
                return await provider.generate(messages, tools, options)
            except LLMError as error:
                if not falls_back(error):
                    raise
        return await self.providers[-1].generate(messages, tools, options)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream from the first provider that does not fail before its first event."""
        for provider in self.providers[:-1]:
            started = False
            try:
                async for event in provider.stream(messages, tools, options):
                    started = True
                    yield event
                return
            except LLMError as error:
                if started or not falls_back(error):
                    raise
        async for event in self.providers[-1].stream(messages, tools, options):
            yield event

    async def aclose(self) -> None:
        """Close every provider of the chain."""
        for provider in self.providers:
            await provider.aclose()
