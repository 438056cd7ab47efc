"""The conversation check run before a request leaves Baton.

Providers answer a malformed conversation with a terse 400 that the agent loop can do
nothing with; this check names the offending message instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from baton.domain.messages import ChatMessage
from baton.llm.errors import ConversationError

Dialect = Literal["openai", "groq", "anthropic"]


def check_conversation(
    messages: Sequence[ChatMessage], dialect: Dialect, provider: str | None = None
) -> None:
    """Raise ConversationError when ``messages`` break a rule of the target API.

    Rules, for every dialect: the conversation is not empty; every tool call of an
    assistant message has a unique id and a name and is answered exactly once by the tool
    messages that immediately follow it (Anthropic puts those results first in the next
    user turn, so nothing may come between); no tool message answers a call that is not
    pending. Groq also rejects a ``name`` on any message. Anthropic rejects empty user
    turns.

    Args:
        messages: The conversation to send.
        dialect: Whose rules apply.
        provider: The provider name to put in the error.

    Raises:
        ConversationError: On the first broken rule, naming the message by index.
    """

    def fail(index: int, reason: str) -> ConversationError:
        return ConversationError(f"message {index}: {reason}", provider=provider)

    if not messages:
        raise ConversationError("the conversation is empty", provider=provider)
    pending: dict[str, str] = {}  # call id -> tool name, for the last assistant turn
    for index, message in enumerate(messages):
        if message.role != "tool" and pending:
            raise fail(index, _unanswered(pending, dialect))
        if dialect == "groq" and message.name is not None and message.role != "tool":
            raise fail(index, "Groq does not accept a 'name' on messages; remove it")
        if message.role == "assistant":
            pending = _calls_of(message, index, provider)
        elif message.role == "tool":
            call_id = message.tool_call_id or ""
            if call_id not in pending:
                raise fail(
                    index,
                    f"tool result for {call_id!r} answers no pending tool call "
                    "(orphaned, duplicated, or not right after its assistant message)",
                )
            del pending[call_id]
        elif dialect == "anthropic" and message.role == "user" and not message.content:
            raise fail(index, "Anthropic rejects an empty user message")
    if pending:
        raise fail(len(messages), _unanswered(pending, dialect))


def _calls_of(message: ChatMessage, index: int, provider: str | None) -> dict[str, str]:
    def fail(reason: str) -> ConversationError:
        return ConversationError(f"message {index}: {reason}", provider=provider)

    calls: dict[str, str] = {}
    for call in message.tool_calls:
        if not call.id:
            raise fail(f"tool call to {call.name!r} has no id")
        if not call.name:
            raise fail(f"tool call {call.id!r} has no tool name")
        if call.id in calls:
            raise fail(f"tool call id {call.id!r} is used twice")
        calls[call.id] = call.name
    return calls


def _unanswered(pending: dict[str, str], dialect: Dialect) -> str:
    listed = ", ".join(f"{call_id} ({name})" for call_id, name in pending.items())
    where = (
        "tool_result blocks must come first in the very next user turn"
        if dialect == "anthropic"
        else "tool messages must directly follow the assistant message"
    )
    return f"tool calls not answered: {listed}; {where}"
