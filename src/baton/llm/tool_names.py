"""Tool names as the providers accept them.

OpenAI and Anthropic accept function names matching ``^[a-zA-Z0-9_-]{1,64}$`` and answer
400 to anything else, while Baton names MCP tools ``mcp.<server>.<tool>``. For each
request, names outside that pattern are replaced by safe ones on the way out (the tool
list and the tool calls in the history) and mapped back in the reply, so the rest of
Baton only ever sees its own names.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamDone,
    StreamEvent,
    ToolCall,
    ToolCallCompleted,
    ToolDefinition,
)

WIRE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_LENGTH = 64


class WireNames:
    """One request's mapping between Baton's tool names and the names sent to a provider.

    Args:
        to_wire: Baton name -> wire name, for the names that need replacing.
    """

    def __init__(self, to_wire: dict[str, str]) -> None:
        self._to_wire = to_wire
        self._from_wire = {wire: name for name, wire in to_wire.items()}

    @classmethod
    def for_request(
        cls, messages: Sequence[ChatMessage], tools: Sequence[ToolDefinition]
    ) -> WireNames:
        """The mapping for a request (empty, changing nothing, when every name is safe)."""
        names = set(_names(messages, tools))
        unsafe = sorted(n for n in names if not WIRE_NAME.match(n))
        if not unsafe:
            return _UNCHANGED
        taken = names - set(unsafe)
        to_wire: dict[str, str] = {}
        for name in unsafe:
            base = _UNSAFE.sub("_", name)[:MAX_LENGTH] or "tool"
            wire, n = base, 2
            while wire in taken:
                suffix = f"_{n}"
                wire, n = base[: MAX_LENGTH - len(suffix)] + suffix, n + 1
            taken.add(wire)
            to_wire[name] = wire
        return cls(to_wire)

    def tools(self, tools: Sequence[ToolDefinition]) -> Sequence[ToolDefinition]:
        """The tool list with wire names."""
        if not self._to_wire:
            return tools
        return [dataclasses.replace(t, name=self._to_wire.get(t.name, t.name)) for t in tools]

    def messages(self, messages: Sequence[ChatMessage]) -> Sequence[ChatMessage]:
        """The conversation with wire names in its tool calls and tool results."""
        if not self._to_wire:
            return messages
        return [self._message(m) for m in messages]

    def _message(self, message: ChatMessage) -> ChatMessage:
        if message.tool_calls:
            calls = tuple(_renamed(c, self._to_wire) for c in message.tool_calls)
            message = dataclasses.replace(message, tool_calls=calls)
        if message.name is not None and message.name in self._to_wire:
            message = dataclasses.replace(message, name=self._to_wire[message.name])
        return message

    def response(self, response: LLMResponse) -> LLMResponse:
        """The reply with Baton's names in its tool calls."""
        if not response.tool_calls or not self._from_wire:
            return response
        calls = tuple(_renamed(c, self._from_wire) for c in response.tool_calls)
        return dataclasses.replace(response, tool_calls=calls)

    def event(self, event: StreamEvent) -> StreamEvent:
        """A stream event with Baton's names."""
        if not self._from_wire:
            return event
        if isinstance(event, ToolCallCompleted):
            return ToolCallCompleted(_renamed(event.tool_call, self._from_wire))
        if isinstance(event, StreamDone):
            return StreamDone(self.response(event.response))
        return event


_UNCHANGED = WireNames({})


def _names(messages: Sequence[ChatMessage], tools: Sequence[ToolDefinition]) -> Iterable[str]:
    for tool in tools:
        yield tool.name
    for message in messages:
        for call in message.tool_calls:
            yield call.name
        if message.name is not None and message.role == "tool":
            yield message.name


def _renamed(call: ToolCall, mapping: dict[str, str]) -> ToolCall:
    name = mapping.get(call.name)
    return call if name is None else dataclasses.replace(call, name=name)
