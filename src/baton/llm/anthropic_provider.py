"""Anthropic's messages API through the ``anthropic`` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import anthropic
import httpx2

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamEvent,
    ToolDefinition,
    canonical_json,
)
from baton.llm.adapter import ProviderAdapter
from baton.llm.assembly import ResponseAssembler
from baton.llm.errors import LLMError
from baton.llm.http_errors import error_from_sdk, json_body
from baton.llm.provider import GenerateOptions
from baton.llm.wire_anthropic import (
    finish_reason_from_anthropic,
    messages_to_anthropic,
    response_from_anthropic,
    tool_choice_to_anthropic,
    tools_to_anthropic,
    usage_from_anthropic,
)

DEFAULT_MAX_TOKENS = 4096

# aiohttp's own errors: the SDK's aiohttp transport re-raises only some of them as httpx ones.
_CONNECTION_ERRORS = (anthropic.APIConnectionError, httpx2.TransportError, aiohttp.ClientError)


class AnthropicProvider(ProviderAdapter):
    """Claude models.

    Args:
        model: The model to ask for.
        api_key: The key.
        base_url: The API root, or ``None`` for the SDK's default.
        timeout: Default seconds per request.
        name: The Baton provider name.
        client: An SDK client to use instead of building one.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        name: str = "anthropic",
        client: anthropic.AsyncAnthropic | None = None,
    ) -> None:
        super().__init__(name, model, "anthropic", timeout)
        # Retries belong to RetryingProvider, which also sees fallbacks and Retry-After.
        # The aiohttp transport costs about half the CPU per call of the SDK's default one
        # under load; it opens its session on the first request, inside the event loop.
        self._client = client or anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=anthropic.DefaultAioHttpClient(),
        )

    def _params(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> dict[str, Any]:
        system, turns = messages_to_anthropic(messages)
        params: dict[str, Any] = {
            "model": self.model,
            "messages": turns,
            "max_tokens": options.max_tokens or DEFAULT_MAX_TOKENS,
            "timeout": time_limit,
        }
        if system:
            params["system"] = system
        if tools:
            params["tools"] = tools_to_anthropic(tools)
            if options.tool_choice:
                params["tool_choice"] = tool_choice_to_anthropic(options.tool_choice)
        if options.temperature is not None:
            # anthropic>=1 dropped temperature from the signature (newer models reject it);
            # the API still takes it for older models, so send it only when asked.
            params["extra_body"] = {"temperature": options.temperature}
        if options.stop:
            params["stop_sequences"] = list(options.stop)
        return params

    async def _generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> LLMResponse:
        # The wire module builds plain dicts, which the SDK's TypedDict overloads can't see.
        # The raw body goes straight to the wire module: building the SDK's pydantic model
        # of it only to dump it back to a dict is CPU spent for nothing.
        api: Any = self._client.messages.with_raw_response
        raw = await api.create(**self._params(messages, tools, options, time_limit))
        answer: httpx2.Response = raw.http_response
        body = json_body(self.name, answer.status_code, answer.content)
        return response_from_anthropic(body, self.name)

    async def _chunks(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> AsyncIterator[dict[str, Any]]:
        api: Any = self._client.messages
        stream = await api.create(**self._params(messages, tools, options, time_limit), stream=True)
        async with stream:
            async for event in stream:
                yield event.model_dump()

    def _feed(self, assembler: ResponseAssembler, chunk: dict[str, Any]) -> list[StreamEvent]:
        return feed_anthropic_event(assembler, chunk)

    def _map_error(self, exc: Exception, time_limit: float) -> LLMError | None:
        if not isinstance(exc, anthropic.AnthropicError | httpx2.HTTPError | aiohttp.ClientError):
            return None
        return error_from_sdk(self.name, exc, time_limit, _CONNECTION_ERRORS)

    async def aclose(self) -> None:
        """Close the SDK client's connections."""
        await self._client.close()


def feed_anthropic_event(assembler: ResponseAssembler, event: dict[str, Any]) -> list[StreamEvent]:
    """Record one raw messages-stream event; the events it completes.

    Usage arrives in pieces (input counts in ``message_start``, cumulative output counts in
    ``message_delta``), so the pieces are merged before conversion.
    """
    kind = event.get("type")
    index = event.get("index", 0)
    if kind == "message_start":
        message = event.get("message") or {}
        assembler.model = message.get("model") or assembler.model
        _merge_usage(assembler, message.get("usage"))
    elif kind == "content_block_start":
        block = event.get("content_block") or {}
        if block.get("type") == "text":
            text = assembler.text(block.get("text") or "")
            return [text] if text is not None else []
        if block.get("type") == "tool_use":
            initial = block.get("input")
            fragment = canonical_json(initial) if initial else None
            assembler.call_delta(index, block.get("id"), block.get("name"), fragment)
    elif kind == "content_block_delta":
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            text = assembler.text(delta.get("text") or "")
            return [text] if text is not None else []
        if delta.get("type") == "input_json_delta":
            assembler.call_delta(index, None, None, delta.get("partial_json"))
    elif kind == "content_block_stop":
        completed = assembler.complete(index)
        return [completed] if completed is not None else []
    elif kind == "message_delta":
        delta = event.get("delta") or {}
        if delta.get("stop_reason"):
            assembler.finish_reason = finish_reason_from_anthropic(delta["stop_reason"])
        _merge_usage(assembler, event.get("usage"))
    return []


def _merge_usage(assembler: ResponseAssembler, usage: dict[str, Any] | None) -> None:
    if not usage:
        return
    assembler.raw_usage.update({key: value for key, value in usage.items() if value is not None})
    assembler.usage = usage_from_anthropic(assembler.raw_usage)
