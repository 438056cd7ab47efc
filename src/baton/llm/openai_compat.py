"""OpenAI, Groq and OpenAI-compatible servers (Ollama, vLLM) through the ``openai`` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import httpx2
import openai

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.adapter import ProviderAdapter
from baton.llm.assembly import ResponseAssembler
from baton.llm.errors import LLMError
from baton.llm.http_errors import error_from_sdk
from baton.llm.openai_stream import feed_openai_chunk
from baton.llm.provider import GenerateOptions
from baton.llm.rules import Dialect
from baton.llm.wire_openai import (
    messages_to_openai,
    response_from_openai,
    tool_choice_to_openai,
    tools_to_openai,
)

GROQ_BASE_URL = "https://api.groq.com/openai/v1"

# aiohttp's own errors: the SDK's aiohttp transport re-raises only some of them as httpx ones.
_CONNECTION_ERRORS = (openai.APIConnectionError, httpx2.TransportError, aiohttp.ClientError)


class OpenAICompatProvider(ProviderAdapter):
    """A chat-completions endpoint.

    Args:
        name: ``openai``, ``groq`` or ``openai_compatible``.
        model: The model to ask for.
        api_key: The key (compatible servers that need none still get a placeholder).
        base_url: The API root, or ``None`` for the SDK's default (api.openai.com).
        timeout: Default seconds per request.
        dialect: Whose conversation rules apply (``groq`` rejects message names).
        client: An SDK client to use instead of building one.
    """

    def __init__(
        self,
        name: str,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        dialect: Dialect = "openai",
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(name, model, dialect, timeout)
        # Retries belong to RetryingProvider, which also sees fallbacks and Retry-After.
        # The aiohttp transport costs about half the CPU per call of the SDK's default one
        # under load; it opens its session on the first request, inside the event loop.
        self._client = client or openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=openai.DefaultAioHttpClient(),
        )
        # OpenAI deprecated max_tokens; many compatible servers only know max_tokens.
        self._max_tokens_key = "max_completion_tokens" if name == "openai" else "max_tokens"

    def _params(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages_to_openai(messages),
            "timeout": time_limit,
        }
        if tools:
            params["tools"] = tools_to_openai(tools)
            if options.tool_choice:
                params["tool_choice"] = tool_choice_to_openai(options.tool_choice)
        if options.temperature is not None:
            params["temperature"] = options.temperature
        if options.max_tokens is not None:
            params[self._max_tokens_key] = options.max_tokens
        if options.stop:
            params["stop"] = list(options.stop)
        return params

    async def _generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> LLMResponse:
        # The wire module builds plain dicts, which the SDK's TypedDict overloads can't see.
        completions: Any = self._client.chat.completions
        completion = await completions.create(**self._params(messages, tools, options, time_limit))
        return response_from_openai(completion.model_dump(), self.name)

    async def _chunks(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> AsyncIterator[dict[str, Any]]:
        completions: Any = self._client.chat.completions
        stream = await completions.create(
            **self._params(messages, tools, options, time_limit),
            stream=True,
            stream_options={"include_usage": True},
        )
        async with stream:
            async for chunk in stream:
                yield chunk.model_dump()

    def _feed(self, assembler: ResponseAssembler, chunk: dict[str, Any]) -> list[StreamEvent]:
        return feed_openai_chunk(assembler, chunk)

    def _map_error(self, exc: Exception, time_limit: float) -> LLMError | None:
        if not isinstance(exc, openai.OpenAIError | httpx2.HTTPError | aiohttp.ClientError):
            return None
        return error_from_sdk(self.name, exc, time_limit, _CONNECTION_ERRORS)

    async def aclose(self) -> None:
        """Close the SDK client's connections."""
        await self._client.close()
