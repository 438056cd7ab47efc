"""A fake LLMProvider that plays back scripted replies and records what it was asked."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCallCompleted,
    ToolDefinition,
)
from baton.llm.errors import LLMError
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions

Scripted = LLMResponse | str | LLMError
ReplyFunction = Callable[
    [Sequence[ChatMessage], Sequence[ToolDefinition]], Scripted | Awaitable[Scripted]
]


class ScriptExhausted(LLMError):
    """The ScriptedLLM was called more often than it had replies for."""

    code = "script_exhausted"


@dataclass(frozen=True)
class RecordedCall:
    """One call a ScriptedLLM received."""

    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolDefinition, ...]
    options: GenerateOptions
    streamed: bool


class ScriptedLLM:
    """Replies from a list, or from a function of the conversation.

    A string reply becomes a plain text LLMResponse; an LLMError in the list is raised
    (to exercise retries and fallbacks). Streaming splits text into word-sized deltas.

    Args:
        replies: The replies in order, or a function returning one per call (sync or async).
        name: The provider name to report.
        model: The model name to report.

    Example:
        >>> llm = ScriptedLLM(["Hello!"])
    """

    def __init__(
        self,
        replies: Iterable[Scripted] | ReplyFunction,
        *,
        name: str = "scripted",
        model: str = "scripted",
    ) -> None:
        self.name = name
        self.model = model
        self.calls: list[RecordedCall] = []
        self._function: ReplyFunction | None = replies if callable(replies) else None
        self._replies: list[Scripted] = [] if callable(replies) else list(replies)
        self.closed = False

    @property
    def remaining(self) -> int:
        """Scripted replies not yet used (0 for a reply function)."""
        return len(self._replies)

    async def _next(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None,
        options: GenerateOptions,
        streamed: bool,
    ) -> LLMResponse:
        self.calls.append(RecordedCall(tuple(messages), tuple(tools or ()), options, streamed))
        if self._function is not None:
            reply = self._function(messages, tools or ())
            if inspect.isawaitable(reply):
                reply = await reply
        elif self._replies:
            reply = self._replies.pop(0)
        else:
            raise ScriptExhausted(
                f"ScriptedLLM has no reply left for call {len(self.calls)}", provider=self.name
            )
        if isinstance(reply, LLMError):
            raise reply
        if isinstance(reply, str):
            return LLMResponse(content=reply, model=self.model, provider=self.name)
        return replace(reply, model=reply.model or self.model, provider=reply.provider or self.name)

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Return the next scripted reply."""
        return await self._next(messages, tools, options, streamed=False)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream the next scripted reply: word deltas, completed calls, then done."""
        response = await self._next(messages, tools, options, streamed=True)
        for word in _words(response.content or ""):
            yield TextDelta(word)
        for call in response.tool_calls:
            yield ToolCallCompleted(call)
        yield StreamDone(response)

    async def aclose(self) -> None:
        """Mark the fake closed."""
        self.closed = True


def _words(text: str) -> list[str]:
    pieces: list[str] = []
    for index, word in enumerate(text.split(" ")):
        pieces.append(word if index == 0 else " " + word)
    return [piece for piece in pieces if piece]
