"""Stream assembly of OpenAI-format and Anthropic chunks."""

from __future__ import annotations

import pytest

from baton.domain.messages import TextDelta, ToolCallCompleted
from baton.llm.anthropic_provider import feed_anthropic_event
from baton.llm.assembly import ResponseAssembler
from baton.llm.errors import ProviderUnavailable
from baton.llm.openai_stream import feed_openai_chunk


def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_a_missing_id_is_generated_then_adopted_when_it_arrives_late() -> None:
    assembler = ResponseAssembler("p", "m")
    feed_openai_chunk(
        assembler,
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{"}}]}),
    )
    feed_openai_chunk(
        assembler,
        chunk({"tool_calls": [{"index": 0, "id": "late", "function": {"arguments": "}"}}]}),
    )
    events = feed_openai_chunk(assembler, chunk({}, "tool_calls"))
    (completed,) = events
    assert isinstance(completed, ToolCallCompleted)
    assert (completed.tool_call.id, completed.tool_call.arguments) == ("late", {})


def test_object_arguments_and_missing_index() -> None:
    assembler = ResponseAssembler("p", "m")
    feed_openai_chunk(
        assembler,
        chunk(
            {"tool_calls": [{"id": "x", "function": {"name": "f", "arguments": {"a": 1}}}]},
            "tool_calls",
        ),
    )
    assert assembler.build().tool_calls[0].arguments == {"a": 1}


def test_without_a_finish_reason_the_reply_is_incomplete() -> None:
    assembler = ResponseAssembler("p", "m")
    feed_openai_chunk(assembler, chunk({"content": "Hel"}))
    with pytest.raises(ProviderUnavailable, match="ended before"):
        assembler.build()


def test_anthropic_usage_is_merged_from_start_and_delta() -> None:
    assembler = ResponseAssembler("anthropic", "m")
    start = {
        "type": "message_start",
        "message": {
            "model": "claude",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 1},
        },
    }
    events = [
        *feed_anthropic_event(assembler, start),
        *feed_anthropic_event(
            assembler,
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        *feed_anthropic_event(
            assembler,
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "hi"},
            },
        ),
        *feed_anthropic_event(
            assembler,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 42},
            },
        ),
    ]
    assert events == [TextDelta("hi")]
    response = assembler.build()
    assert (
        response.usage.input_tokens,
        response.usage.cached_tokens,
        response.usage.output_tokens,
    ) == (100, 90, 42)
    assert response.model == "claude" and response.finish_reason == "stop"
