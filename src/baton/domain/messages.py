"""The provider-neutral conversation types every LLM adapter speaks.

Pure data: nothing here knows about an SDK or a wire format. Adapters translate to and
from these types (see ``baton.llm.wire_openai`` and ``baton.llm.wire_anthropic``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]

ROLES: tuple[Role, ...] = ("system", "user", "assistant", "tool")


def new_tool_call_id() -> str:
    """Return a fresh tool call id, for servers that omit one."""
    return f"call_{uuid.uuid4().hex[:24]}"


def canonical_json(value: Any) -> str:
    """Serialise ``value`` the one way Baton writes tool arguments.

    Args:
        value: Any JSON-serialisable value.

    Returns:
        Compact JSON with non-ASCII characters kept as they are.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_tool_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """Parse a model's raw tool-call arguments.

    Models often send an empty string for a call without arguments, so it counts as ``{}``.

    Args:
        raw: The arguments string exactly as the model produced it.

    Returns:
        The parsed object and ``None``, or ``{}`` and a message saying why it is unusable.
    """
    if raw.strip() == "":
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return {}, f"arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None


@dataclass(frozen=True)
class ToolCall:
    """A request from the model to run one tool.

    Attributes:
        id: The id the tool result must quote back.
        name: The tool's name.
        arguments: The parsed arguments (``{}`` when ``error`` is set).
        raw_arguments: The arguments string exactly as the model produced it.
        error: Why ``raw_arguments`` could not be used, or ``None`` when it parsed to an
            object. The agent loop answers such a call with this error instead of running it.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str = "{}"
    error: str | None = None

    @classmethod
    def from_raw(cls, id: str, name: str, raw_arguments: str) -> ToolCall:
        """Build a call from the model's raw arguments string, recording any parse error.

        Args:
            id: The call id.
            name: The tool name.
            raw_arguments: The arguments string as received.

        Returns:
            The call, with ``error`` set when the string is not a JSON object.
        """
        arguments, error = parse_tool_arguments(raw_arguments)
        return cls(id=id, name=name, arguments=arguments, raw_arguments=raw_arguments, error=error)

    @classmethod
    def from_arguments(cls, id: str, name: str, arguments: dict[str, Any]) -> ToolCall:
        """Build a call from already-parsed arguments.

        Args:
            id: The call id.
            name: The tool name.
            arguments: The arguments object.

        Returns:
            The call, with ``raw_arguments`` the canonical JSON of ``arguments``.
        """
        return cls(id=id, name=name, arguments=arguments, raw_arguments=canonical_json(arguments))


@dataclass(frozen=True)
class ToolDefinition:
    """A tool offered to the model.

    Attributes:
        name: The name the model calls it by.
        description: What it does, for the model.
        parameters: The JSON Schema of its arguments object.
    """

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation.

    Attributes:
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        content: The text; ``None`` for an assistant message that only calls tools.
        tool_calls: The calls an assistant message makes.
        tool_call_id: For a tool message, the id of the call it answers.
        name: For a tool message, the tool's name; for other roles an optional speaker
            name (not every provider accepts it).
        is_error: For a tool message, whether the tool failed (Anthropic shows the model).
    """

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown message role {self.role!r}")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages may carry tool_calls")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id it answers")
        if self.role != "tool" and (self.tool_call_id is not None or self.is_error):
            raise ValueError("tool_call_id and is_error belong to tool messages only")

    @classmethod
    def system(cls, content: str) -> ChatMessage:
        """A system message."""
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str, name: str | None = None) -> ChatMessage:
        """A user message."""
        return cls(role="user", content=content, name=name)

    @classmethod
    def assistant(
        cls, content: str | None = None, tool_calls: tuple[ToolCall, ...] | list[ToolCall] = ()
    ) -> ChatMessage:
        """An assistant message, optionally calling tools."""
        return cls(role="assistant", content=content, tool_calls=tuple(tool_calls))

    @classmethod
    def tool(
        cls, tool_call_id: str, name: str, content: str, is_error: bool = False
    ) -> ChatMessage:
        """The result of one tool call."""
        return cls(
            role="tool", content=content, tool_call_id=tool_call_id, name=name, is_error=is_error
        )


@dataclass(frozen=True)
class Usage:
    """Tokens a call consumed.

    ``input_tokens`` counts every prompt token, including the ``cached_tokens`` read from a
    provider's prompt cache; cost accounting bills those at the cached price.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
        )

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


FinishReason = str
"""Normalised to ``stop``, ``tool_calls``, ``length`` or ``content_filter`` where known."""


@dataclass(frozen=True)
class LLMResponse:
    """One complete reply from a model.

    Attributes:
        content: The text, or ``None`` when the model only called tools.
        tool_calls: The tools it asked to run, in order.
        finish_reason: Why it stopped (``stop``, ``tool_calls``, ``length``, ...).
        usage: Tokens consumed.
        model: The model that answered, as the provider named it.
        provider: The Baton provider name (``openai``, ``anthropic``, ``local``, ...).
    """

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    provider: str = ""

    def to_message(self) -> ChatMessage:
        """The assistant message to append to the conversation."""
        return ChatMessage.assistant(self.content, self.tool_calls)


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed reply text."""

    text: str


@dataclass(frozen=True)
class ToolCallCompleted:
    """A streamed tool call whose arguments are complete."""

    tool_call: ToolCall


@dataclass(frozen=True)
class StreamDone:
    """The end of a stream, with the whole reply assembled."""

    response: LLMResponse


StreamEvent = TextDelta | ToolCallCompleted | StreamDone
