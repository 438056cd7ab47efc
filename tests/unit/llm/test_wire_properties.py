"""The wire conversions round-trip without loss."""

from __future__ import annotations

import itertools
import json

from hypothesis import given

from baton.domain.messages import ChatMessage, LLMResponse, ToolDefinition
from baton.llm import wire_anthropic, wire_openai
from tests.unit.llm.strategies import conversations, responses, tools


@given(conversations(anthropic=False))
def test_openai_messages_round_trip(messages: list[ChatMessage]) -> None:
    wire = wire_openai.messages_to_openai(messages)
    json.dumps(wire)  # plain JSON, nothing SDK-specific
    assert wire_openai.messages_from_openai(wire) == messages
    assert wire_openai.messages_to_openai(wire_openai.messages_from_openai(wire)) == wire


@given(conversations(anthropic=True))
def test_anthropic_messages_round_trip(messages: list[ChatMessage]) -> None:
    system, wire = wire_anthropic.messages_to_anthropic(messages)
    json.dumps([system, wire])
    back = wire_anthropic.messages_from_anthropic(system, wire)
    assert back == messages
    assert wire_anthropic.messages_to_anthropic(back) == (system, wire)


@given(conversations(anthropic=True))
def test_anthropic_turns_alternate_with_tool_results_first(messages: list[ChatMessage]) -> None:
    _, wire = wire_anthropic.messages_to_anthropic(messages)
    for previous, turn in itertools.pairwise(wire):
        blocks = turn["content"] if isinstance(turn["content"], list) else []
        kinds = [block["type"] for block in blocks]
        if "tool_result" in kinds:
            assert previous["role"] == "assistant"
            assert kinds == sorted(kinds, key=lambda kind: kind != "tool_result")
            used = {b["id"] for b in previous["content"] if b["type"] == "tool_use"}
            assert {b["tool_use_id"] for b in blocks if b["type"] == "tool_result"} == used


@given(responses(anthropic=False))
def test_openai_response_round_trip(response: LLMResponse) -> None:
    wire = wire_openai.response_to_openai(response)
    assert (
        wire_openai.response_from_openai(json.loads(json.dumps(wire)), response.provider)
        == response
    )


@given(responses(anthropic=True))
def test_anthropic_response_round_trip(response: LLMResponse) -> None:
    wire = wire_anthropic.response_to_anthropic(response)
    back = wire_anthropic.response_from_anthropic(json.loads(json.dumps(wire)), response.provider)
    assert back == response


@given(tools)
def test_tool_definitions_round_trip(tool: ToolDefinition) -> None:
    assert wire_openai.tools_from_openai(wire_openai.tools_to_openai([tool])) == [tool]
    assert wire_anthropic.tools_from_anthropic(wire_anthropic.tools_to_anthropic([tool])) == [tool]
