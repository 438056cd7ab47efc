"""Conversion between Baton's message types and the Anthropic messages format.

Anthropic differs from the chat-completions shape in ways that matter here:

- the system prompt is a top-level parameter, not a message: system messages are hoisted
  into a list of text blocks, one per message, so several of them survive the trip;
- tool calls are ``tool_use`` content blocks whose ``input`` is an object, so a call whose
  raw arguments were not a JSON object is sent as ``{}``;
- tool results are ``tool_result`` blocks inside a *user* turn, and every result for one
  assistant turn must sit, first, in the single user turn that follows it. Consecutive
  tool messages therefore merge into one user turn, and a user message right after them
  joins that turn after the results;
- user messages have no speaker ``name``; a tool result has no tool name, which is
  recovered from the call it answers on the way back.
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

_STOP_FROM_ANTHROPIC = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
}
_STOP_TO_ANTHROPIC = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def finish_reason_from_anthropic(stop_reason: str | None) -> str:
    """An Anthropic ``stop_reason`` as a normalised finish reason."""
    if stop_reason is None:
        return "stop"
    return _STOP_FROM_ANTHROPIC.get(stop_reason, stop_reason)


def finish_reason_to_anthropic(finish_reason: str) -> str:
    """A normalised finish reason as an Anthropic ``stop_reason``."""
    return _STOP_TO_ANTHROPIC.get(finish_reason, finish_reason)


def tool_call_to_anthropic(call: ToolCall) -> Wire:
    """A tool call as a ``tool_use`` block."""
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}


def tool_call_from_anthropic(block: Mapping[str, Any]) -> ToolCall:
    """A ``tool_use`` block as a ToolCall."""
    raw_input = block.get("input")
    return ToolCall.from_arguments(
        block.get("id") or new_tool_call_id(),
        block.get("name") or "",
        dict(raw_input) if isinstance(raw_input, Mapping) else {},
    )


def _tool_result(message: ChatMessage) -> Wire:
    block: Wire = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": message.content or "",
    }
    if message.is_error:
        block["is_error"] = True
    return block


def _assistant(message: ChatMessage) -> Wire:
    if not message.tool_calls:
        return {"role": "assistant", "content": message.content or ""}
    blocks: list[Wire] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(tool_call_to_anthropic(call) for call in message.tool_calls)
    return {"role": "assistant", "content": blocks}


def messages_to_anthropic(messages: Iterable[ChatMessage]) -> tuple[list[Wire], list[Wire]]:
    """A conversation in the Anthropic format.

    Args:
        messages: The conversation.

    Returns:
        The ``system`` text blocks and the ``messages`` list.
    """
    system: list[Wire] = []
    turns: list[Wire] = []
    results_turn: list[Wire] | None = None  # the open user turn holding tool results
    for message in messages:
        if message.role == "system":
            system.append({"type": "text", "text": message.content or ""})
        elif message.role == "tool":
            if results_turn is None:
                results_turn = []
                turns.append({"role": "user", "content": results_turn})
            results_turn.append(_tool_result(message))
        elif message.role == "user" and results_turn is not None:
            results_turn.append({"type": "text", "text": message.content or ""})
            results_turn = None
        else:
            results_turn = None
            if message.role == "user":
                turns.append({"role": "user", "content": message.content or ""})
            else:
                turns.append(_assistant(message))
    return system, turns


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        block.get("text", "")
        for block in content or ()
        if isinstance(block, Mapping) and block.get("type") == "text"
    )


def messages_from_anthropic(
    system: str | Iterable[Mapping[str, Any]] | None, wire: Iterable[Mapping[str, Any]]
) -> list[ChatMessage]:
    """An Anthropic-format conversation as ChatMessages.

    Args:
        system: The ``system`` parameter: a string, text blocks, or ``None``.
        wire: The ``messages`` list.

    Returns:
        System messages first (one per block), then the turns, with tool results split
        back into tool messages.
    """
    messages: list[ChatMessage] = []
    if isinstance(system, str):
        messages.append(ChatMessage.system(system))
    elif system is not None:
        messages.extend(ChatMessage.system(block.get("text", "")) for block in system)
    names_by_call: dict[str, str] = {}
    for turn in wire:
        content = turn.get("content")
        if turn["role"] == "assistant":
            message = _assistant_from_anthropic(content)
            names_by_call.update((call.id, call.name) for call in message.tool_calls)
            messages.append(message)
        elif isinstance(content, str):
            messages.append(ChatMessage.user(content))
        else:
            for block in content or ():
                if block.get("type") == "tool_result":
                    call_id = block["tool_use_id"]
                    messages.append(
                        ChatMessage(
                            role="tool",
                            content=_text(block.get("content")),
                            tool_call_id=call_id,
                            name=names_by_call.get(call_id),
                            is_error=bool(block.get("is_error", False)),
                        )
                    )
                elif block.get("type") == "text":
                    messages.append(ChatMessage.user(block.get("text", "")))
    return messages


def _assistant_from_anthropic(content: Any) -> ChatMessage:
    if isinstance(content, str):
        return ChatMessage.assistant(content)
    blocks = [block for block in content or () if isinstance(block, Mapping)]
    texts = [block.get("text", "") for block in blocks if block.get("type") == "text"]
    calls = tuple(
        tool_call_from_anthropic(block) for block in blocks if block.get("type") == "tool_use"
    )
    return ChatMessage.assistant("".join(texts) if texts else None, calls)


def tools_to_anthropic(tools: Iterable[ToolDefinition]) -> list[Wire]:
    """Tool definitions in the Anthropic format (the schema is ``input_schema``)."""
    return [
        {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
        for tool in tools
    ]


def tools_from_anthropic(wire: Iterable[Mapping[str, Any]]) -> list[ToolDefinition]:
    """Anthropic-format tool definitions as ToolDefinitions."""
    return [
        ToolDefinition(
            name=item["name"],
            description=item.get("description", ""),
            parameters=item.get("input_schema") or {"type": "object", "properties": {}},
        )
        for item in wire
    ]


def tool_choice_to_anthropic(choice: str) -> Wire:
    """``auto``, ``none``, ``required`` or a tool name, in the Anthropic format."""
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


def usage_from_anthropic(data: Mapping[str, Any] | None) -> Usage:
    """Anthropic usage as Usage.

    Anthropic's ``input_tokens`` excludes cache reads and writes; Baton's counts them all.
    """
    if not data:
        return Usage()
    cached = data.get("cache_read_input_tokens") or 0
    created = data.get("cache_creation_input_tokens") or 0
    return Usage(
        input_tokens=(data.get("input_tokens") or 0) + cached + created,
        output_tokens=data.get("output_tokens") or 0,
        cached_tokens=cached,
    )


def usage_to_anthropic(usage: Usage) -> Wire:
    """Usage in the Anthropic format."""
    return {
        "input_tokens": usage.input_tokens - usage.cached_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "cache_creation_input_tokens": 0,
    }


def response_from_anthropic(data: Mapping[str, Any], provider: str = "anthropic") -> LLMResponse:
    """A messages-API response body (or SDK ``model_dump()``) as an LLMResponse."""
    message = _assistant_from_anthropic(data.get("content"))
    return LLMResponse(
        content=message.content,
        tool_calls=message.tool_calls,
        finish_reason=finish_reason_from_anthropic(data.get("stop_reason")),
        usage=usage_from_anthropic(data.get("usage")),
        model=data.get("model") or "",
        provider=provider,
    )


def response_to_anthropic(response: LLMResponse, response_id: str = "msg_baton") -> Wire:
    """An LLMResponse as a messages-API response body."""
    blocks = _assistant(ChatMessage.assistant(response.content, response.tool_calls))["content"]
    if isinstance(blocks, str):
        blocks = [{"type": "text", "text": blocks}] if blocks else []
    return {
        "id": response_id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": blocks,
        "stop_reason": finish_reason_to_anthropic(response.finish_reason),
        "stop_sequence": None,
        "usage": usage_to_anthropic(response.usage),
    }
