"""Conversion between Baton's message types and the OpenAI chat-completions format.

Plain dicts in and out, so the same code serves the ``openai`` SDK (via ``model_dump``),
llama.cpp (which speaks the same format) and the tests' fake servers.

The format has no place for a failed tool result's ``is_error`` flag, so it is dropped on
the way out; a tool message's ``name`` is not sent (strict servers such as Groq reject it)
and is recovered from the call it answers on the way back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    ToolCall,
    ToolDefinition,
    Usage,
    new_tool_call_id,
)

Wire = dict[str, Any]

FINISH_REASONS = {"stop", "tool_calls", "length", "content_filter"}


def tool_call_to_openai(call: ToolCall) -> Wire:
    """One tool call as an OpenAI ``tool_calls`` entry."""
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.raw_arguments},
    }


def tool_call_from_openai(data: Mapping[str, Any]) -> ToolCall:
    """One OpenAI ``tool_calls`` entry as a ToolCall, generating an id when it has none."""
    function = data.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, Mapping):  # some compatible servers send an object
        return ToolCall.from_arguments(
            data.get("id") or new_tool_call_id(), function.get("name") or "", dict(arguments)
        )
    return ToolCall.from_raw(
        data.get("id") or new_tool_call_id(), function.get("name") or "", arguments or ""
    )


def message_to_openai(message: ChatMessage) -> Wire:
    """One message in the OpenAI format."""
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content or "",
        }
    wire: Wire = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [tool_call_to_openai(call) for call in message.tool_calls]
    if message.name is not None:
        wire["name"] = message.name
    return wire


def messages_to_openai(messages: Iterable[ChatMessage]) -> list[Wire]:
    """A conversation in the OpenAI format."""
    return [message_to_openai(message) for message in messages]


def text_of(content: Any) -> str | None:
    """The text of an OpenAI ``content`` that may be a string or a list of parts."""
    if content is None or isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))


def messages_from_openai(wire: Iterable[Mapping[str, Any]]) -> list[ChatMessage]:
    """An OpenAI-format conversation as ChatMessages."""
    names_by_call: dict[str, str] = {}
    messages: list[ChatMessage] = []
    for item in wire:
        role = item["role"]
        if role == "tool":
            call_id = item["tool_call_id"]
            messages.append(
                ChatMessage(
                    role="tool",
                    content=text_of(item.get("content")) or "",
                    tool_call_id=call_id,
                    name=item.get("name") or names_by_call.get(call_id),
                )
            )
            continue
        calls = tuple(tool_call_from_openai(call) for call in item.get("tool_calls") or ())
        names_by_call.update((call.id, call.name) for call in calls)
        messages.append(
            ChatMessage(
                role=role,
                content=text_of(item.get("content")),
                tool_calls=calls,
                name=item.get("name"),
            )
        )
    return messages


def tools_to_openai(tools: Iterable[ToolDefinition]) -> list[Wire]:
    """Tool definitions in the OpenAI format."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in tools
    ]


def tools_from_openai(wire: Iterable[Mapping[str, Any]]) -> list[ToolDefinition]:
    """OpenAI-format tool definitions as ToolDefinitions."""
    return [
        ToolDefinition(
            name=item["function"]["name"],
            description=item["function"].get("description", ""),
            parameters=item["function"].get("parameters") or {"type": "object", "properties": {}},
        )
        for item in wire
    ]


def tool_choice_to_openai(choice: str) -> str | Wire:
    """``auto``, ``none``, ``required`` or a tool name, in the OpenAI format."""
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def usage_from_openai(data: Mapping[str, Any] | None) -> Usage:
    """OpenAI usage (``prompt_tokens`` already includes the cached ones) as Usage."""
    if not data:
        return Usage()
    details = data.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=data.get("prompt_tokens") or 0,
        output_tokens=data.get("completion_tokens") or 0,
        cached_tokens=details.get("cached_tokens") or 0,
    )


def usage_to_openai(usage: Usage) -> Wire:
    """Usage in the OpenAI format."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def finish_reason_from_openai(reason: str | None, has_tool_calls: bool) -> str:
    """Normalise a finish reason; some servers say ``stop`` even after calling tools."""
    if has_tool_calls and reason in (None, "stop", "function_call"):
        return "tool_calls"
    return reason or "stop"


def response_from_openai(data: Mapping[str, Any], provider: str) -> LLMResponse:
    """A chat-completions response as an LLMResponse.

    Args:
        data: The response body (or the SDK object's ``model_dump()``).
        provider: The Baton provider name to record.

    Returns:
        The first choice, with usage and model.
    """
    choices = data.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    calls = tuple(tool_call_from_openai(call) for call in message.get("tool_calls") or ())
    return LLMResponse(
        content=text_of(message.get("content")),
        tool_calls=calls,
        finish_reason=finish_reason_from_openai(choice.get("finish_reason"), bool(calls)),
        usage=usage_from_openai(data.get("usage")),
        model=data.get("model") or "",
        provider=provider,
    )


def response_to_openai(response: LLMResponse, response_id: str = "chatcmpl-baton") -> Wire:
    """An LLMResponse as a chat-completions response body."""
    message: Wire = {"role": "assistant", "content": response.content}
    if response.tool_calls:
        message["tool_calls"] = [tool_call_to_openai(call) for call in response.tool_calls]
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": 0,
        "model": response.model,
        "choices": [{"index": 0, "message": message, "finish_reason": response.finish_reason}],
        "usage": usage_to_openai(response.usage),
    }
