"""The pre-send conversation check."""

from __future__ import annotations

import pytest

from baton.domain.messages import ChatMessage, ToolCall
from baton.llm.errors import ConversationError
from baton.llm.rules import check_conversation

CALL_A = ToolCall.from_arguments("a", "calc", {"x": 1})
CALL_B = ToolCall.from_arguments("b", "calc", {"x": 2})
USER = ChatMessage.user("hi")


def answered(*calls: ToolCall) -> list[ChatMessage]:
    return [
        ChatMessage.assistant(None, calls),
        *(ChatMessage.tool(c.id, c.name, "ok") for c in calls),
    ]


@pytest.mark.parametrize("dialect", ["openai", "groq", "anthropic"])
def test_valid_conversations_pass(dialect: str) -> None:
    check_conversation([USER, *answered(CALL_A, CALL_B), USER], dialect)  # type: ignore[arg-type]
    check_conversation([USER, *answered(CALL_A)], dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([], "empty"),
        (
            [
                USER,
                ChatMessage.assistant(None, [CALL_A, CALL_B]),
                ChatMessage.tool("a", "calc", "1"),
            ],
            "not answered: b",
        ),
        (
            [USER, ChatMessage.assistant(None, [CALL_A]), USER, ChatMessage.tool("a", "calc", "1")],
            "message 2: tool calls not answered",
        ),
        ([USER, ChatMessage.tool("zz", "calc", "1")], "'zz' answers no pending"),
        (
            [USER, *answered(CALL_A), ChatMessage.tool("a", "calc", "again")],
            "'a' answers no pending",
        ),
        ([USER, ChatMessage.assistant(None, [CALL_A, CALL_A])], "used twice"),
        ([USER, ChatMessage.assistant(None, [ToolCall("", "calc")])], "has no id"),
        ([USER, ChatMessage.assistant(None, [ToolCall("x", "")])], "no tool name"),
    ],
)
def test_broken_conversations_are_named(messages: list[ChatMessage], reason: str) -> None:
    with pytest.raises(ConversationError, match=reason):
        check_conversation(messages, "openai")


def test_anthropic_wording_and_empty_user() -> None:
    with pytest.raises(ConversationError, match="first in the very next user turn"):
        check_conversation([USER, ChatMessage.assistant(None, [CALL_A]), USER], "anthropic")
    with pytest.raises(ConversationError, match="empty user message"):
        check_conversation([ChatMessage.user("")], "anthropic")
    check_conversation([ChatMessage.user("")], "openai")


def test_groq_rejects_names() -> None:
    named = [ChatMessage.user("hi", name="alice")]
    check_conversation(named, "openai")
    with pytest.raises(ConversationError, match="Groq does not accept a 'name'"):
        check_conversation(named, "groq", provider="groq")
    check_conversation([USER, *answered(CALL_A)], "groq")  # tool names are never sent
