"""Assembles a streamed reply: text pieces and tool-call fragments into one LLMResponse.

Shared by the OpenAI-format adapters (hosted and local) and the Anthropic adapter. Tool
calls are keyed by the stream's block index. Some OpenAI-compatible servers omit call ids
(one is generated) or send several calls at index 0 (a new id at an index that already has
a call starts a new call).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baton.domain.messages import (
    LLMResponse,
    TextDelta,
    ToolCall,
    ToolCallCompleted,
    Usage,
    new_tool_call_id,
)
from baton.llm.errors import ProviderUnavailable


@dataclass
class _PartialCall:
    id: str
    name: str
    fragments: list[str] = field(default_factory=list)
    had_id: bool = True
    done: ToolCall | None = None


class ResponseAssembler:
    """Collects one streamed reply.

    Args:
        provider: The Baton provider name to put in the response.
        model: The model name until the stream reports one.
    """

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.raw_usage: dict[str, Any] = {}  # for providers that report usage in pieces
        self._text: list[str] = []
        self._calls: list[_PartialCall] = []
        self._open: dict[int, _PartialCall] = {}

    def text(self, piece: str) -> TextDelta | None:
        """Record a piece of text; the event to emit, if it is not empty."""
        if not piece:
            return None
        self._text.append(piece)
        return TextDelta(piece)

    def call_delta(
        self, index: int, call_id: str | None, name: str | None, arguments: str | None
    ) -> ToolCallCompleted | None:
        """Record a tool-call fragment.

        Args:
            index: The call's index in the stream.
            call_id: The id, when this fragment carries one.
            name: The tool name, when this fragment carries one.
            arguments: A piece of the raw arguments string.

        Returns:
            The completed event of an earlier call this fragment displaced, if any.
        """
        completed = None
        current = self._open.get(index)
        if current is not None and call_id and current.had_id and call_id != current.id:
            completed = self.complete(index)
            current = None
        if current is None:
            current = _PartialCall(
                id=call_id or new_tool_call_id(), name=name or "", had_id=bool(call_id)
            )
            self._open[index] = current
            self._calls.append(current)
        elif call_id and not current.had_id:
            current.id, current.had_id = call_id, True
        if name and not current.name:
            current.name = name
        if arguments:
            current.fragments.append(arguments)
        return completed

    def complete(self, index: int) -> ToolCallCompleted | None:
        """Close the call at ``index``; its completed event, if one was open."""
        current = self._open.pop(index, None)
        if current is None:
            return None
        current.done = ToolCall.from_raw(current.id, current.name, "".join(current.fragments))
        return ToolCallCompleted(current.done)

    def complete_all(self) -> list[ToolCallCompleted]:
        """Close every open call, in the order they started."""
        events = []
        for index in sorted(self._open, key=lambda i: self._calls.index(self._open[i])):
            event = self.complete(index)
            if event is not None:
                events.append(event)
        return events

    def build(self) -> LLMResponse:
        """The whole reply.

        Raises:
            ProviderUnavailable: When the stream ended before the provider said it finished.
        """
        if self.finish_reason is None:
            raise ProviderUnavailable(
                "the stream ended before the reply was complete", provider=self.provider
            )
        self.complete_all()
        calls = tuple(call.done for call in self._calls if call.done is not None)
        finish = self.finish_reason
        if calls and finish == "stop":  # some servers say "stop" after calling tools
            finish = "tool_calls"
        return LLMResponse(
            content="".join(self._text) if self._text else None,
            tool_calls=calls,
            finish_reason=finish,
            usage=self.usage,
            model=self.model,
            provider=self.provider,
        )
