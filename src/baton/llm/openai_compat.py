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
from baton.llm.http_errors import error_from_sdk, json_body
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

    def _body(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages_to_openai(messages),
        }
        if tools:
            body["tools"] = tools_to_openai(tools)
            if options.tool_choice:
                body["tool_choice"] = tool_choice_to_openai(options.tool_choice)
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.max_tokens is not None:
            body[self._max_tokens_key] = options.max_tokens
        if options.stop:
            body["stop"] = list(options.stop)
        return body

    async def _generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> LLMResponse:
        # The SDK's own POST (its auth, headers, timeout and error classes) without what
        # ``completions.create`` adds around it: walking the already wire-ready body through
        # its TypedDict transform and building a pydantic model of the answer, about 40% of
        # the call's CPU. The wire module reads the raw body; ``security`` is what
        # ``create`` asks for (the API key, never an admin key).
        answer = await self._client.post(
            "/chat/completions",
            body=self._body(messages, tools, options),
            cast_to=httpx2.Response,
            options={"timeout": time_limit, "security": {"bearer_auth": True}},
        )
        body = json_body(self.name, answer.status_code, answer.content)
        return response_from_openai(body, self.name)

    async def _chunks(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> AsyncIterator[dict[str, Any]]:
        # The wire module builds plain dicts, which the SDK's TypedDict overloads can't see.
        completions: Any = self._client.chat.completions
        stream = await completions.create(
            **self._body(messages, tools, options),
            timeout=time_limit,
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
