"""Tool names mapped to what providers accept, and back."""

from __future__ import annotations

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamDone,
    TextDelta,
    ToolCall,
    ToolCallCompleted,
    ToolDefinition,
)
from baton.llm.tool_names import WIRE_NAME, WireNames


def _tool(name: str) -> ToolDefinition:
    return ToolDefinition(name, "a tool")


def test_safe_names_need_no_mapping() -> None:
    messages, tools = [ChatMessage.user("hi")], [_tool("calculator")]
    names = WireNames.for_request(messages, tools)
    assert names.messages(messages) is messages and names.tools(tools) is tools
    call = ToolCall.from_arguments("c1", "calculator", {})
    response = LLMResponse(content=None, tool_calls=(call,))
    assert names.response(response) is response


def test_unsafe_names_become_distinct_safe_names_and_map_back() -> None:
    long_name = "mcp.server." + "x" * 80
    tools = [
        _tool("mcp.fs.read"),
        _tool("mcp_fs_read"),  # a real tool already holds the obvious replacement
        _tool("mcp.fs-read"),
        _tool(long_name),
    ]
    names = WireNames.for_request([], tools)
    wire = [t.name for t in names.tools(tools)]
    assert all(WIRE_NAME.match(n) for n in wire), wire
    assert len(set(wire)) == len(wire)
    assert wire[1] == "mcp_fs_read"  # safe names are left alone
    calls = tuple(ToolCall.from_arguments(f"c{i}", n, {}) for i, n in enumerate(wire))
    back = names.response(LLMResponse(content=None, tool_calls=calls))
    assert [c.name for c in back.tool_calls] == [t.name for t in tools]


def test_history_is_renamed_consistently_with_the_tool_list() -> None:
    call = ToolCall.from_arguments("c1", "mcp.fs.read", {"path": "a"})
    messages = [
        ChatMessage.user("read a"),
        ChatMessage.assistant(None, [call]),
        ChatMessage.tool("c1", "mcp.fs.read", "contents"),
    ]
    names = WireNames.for_request(messages, [_tool("mcp.fs.read")])
    sent = names.messages(messages)
    (wire_tool,) = names.tools([_tool("mcp.fs.read")])
    assert sent[1].tool_calls[0].name == wire_tool.name == sent[2].name
    assert sent[0] == messages[0]


def test_stream_events_map_back() -> None:
    names = WireNames.for_request([], [_tool("mcp.fs.read")])
    (wire_tool,) = names.tools([_tool("mcp.fs.read")])
    call = ToolCall.from_arguments("c1", wire_tool.name, {})
    done = names.event(StreamDone(LLMResponse(content=None, tool_calls=(call,))))
    assert isinstance(done, StreamDone) and done.response.tool_calls[0].name == "mcp.fs.read"
    completed = names.event(ToolCallCompleted(call))
    assert isinstance(completed, ToolCallCompleted)
    assert completed.tool_call.name == "mcp.fs.read"
    assert names.event(TextDelta("x")) == TextDelta("x")
