"""The domain message types."""

from __future__ import annotations

import pytest

from baton.domain.messages import ChatMessage, LLMResponse, ToolCall, Usage


def test_tool_call_parsing() -> None:
    assert ToolCall.from_raw("1", "f", '{"a": 1}').arguments == {"a": 1}
    assert ToolCall.from_raw("1", "f", "").arguments == {}
    assert ToolCall.from_raw("1", "f", "").error is None
    broken = ToolCall.from_raw("1", "f", '{"a": ')
    assert broken.arguments == {} and broken.error and "not valid JSON" in broken.error
    listed = ToolCall.from_raw("1", "f", "[1, 2]")
    assert listed.error == "arguments must be a JSON object, got list"
    assert ToolCall.from_arguments("1", "f", {"é": [1]}).raw_arguments == '{"é":[1]}'


def test_message_validation() -> None:
    with pytest.raises(ValueError, match="tool_call_id"):
        ChatMessage(role="tool", content="x")
    with pytest.raises(ValueError, match="only assistant"):
        ChatMessage(role="user", content="x", tool_calls=(ToolCall("1", "f"),))
    with pytest.raises(ValueError, match="unknown message role"):
        ChatMessage(role="robot", content="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tool messages only"):
        ChatMessage(role="user", content="x", is_error=True)


def test_usage_adds_and_response_becomes_a_message() -> None:
    assert Usage(1, 2, 0) + Usage(10, 20, 5) == Usage(11, 22, 5)
    assert Usage(3, 4).total_tokens == 7
    call = ToolCall.from_arguments("1", "f", {})
    assert LLMResponse(content=None, tool_calls=(call,)).to_message() == ChatMessage.assistant(
        None, [call]
    )
