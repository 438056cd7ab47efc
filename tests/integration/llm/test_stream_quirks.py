"""Protocol-specific stream behaviour that the contract suite cannot express neutrally."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from baton.domain.messages import ChatMessage, ToolCallCompleted
from baton.llm.anthropic_provider import AnthropicProvider
from baton.llm.errors import ProviderUnavailable, RateLimited
from baton.llm.openai_compat import OpenAICompatProvider
from tests.integration.llm.conftest import ask
from tests.support.llm_servers import OpenAIWire, Reply, ScriptedServer

QUESTION = [ChatMessage.user("Add these up.")]


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as running:
        yield running


@pytest.fixture
async def compatible(server: ScriptedServer) -> AsyncIterator[OpenAICompatProvider]:
    provider = OpenAICompatProvider(
        "openai_compatible", "llama3", api_key="none", base_url=f"{server.url}/v1", timeout=5
    )
    yield provider
    await provider.aclose()


def call_delta(
    index: int, call_id: str | None, name: str | None, arguments: str
) -> dict[str, object]:
    function: dict[str, object] = {"arguments": arguments}
    if name:
        function["name"] = name
    delta: dict[str, object] = {"index": index, "function": function}
    if call_id:
        delta["id"] = call_id
    return {"tool_calls": [delta]}


async def test_several_calls_reusing_index_zero(
    server: ScriptedServer, compatible: OpenAICompatProvider
) -> None:
    wire = OpenAIWire()
    chunks = [
        wire.chunk(call_delta(0, "call_a", "add", '{"a": 1')),
        wire.chunk(call_delta(0, None, None, "}")),
        wire.chunk(call_delta(0, "call_b", "add", '{"a": 2}')),
        wire.chunk(call_delta(0, "call_c", "mul", "{}")),
        wire.chunk({}, "tool_calls"),
        "[DONE]",
    ]
    server.push(Reply(events=[(None, chunk) for chunk in chunks]))

    response, events = await ask(compatible, "stream", QUESTION)

    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_a", "add", {"a": 1}),
        ("call_b", "add", {"a": 2}),
        ("call_c", "mul", {}),
    ]
    completed = [e.tool_call.id for e in events if isinstance(e, ToolCallCompleted)]
    assert completed == ["call_a", "call_b", "call_c"]


async def test_whole_calls_in_one_chunk_without_ids_or_usage(
    server: ScriptedServer, compatible: OpenAICompatProvider
) -> None:
    wire = OpenAIWire()
    both = {
        "tool_calls": [
            {"index": 0, "function": {"name": "add", "arguments": '{"a": 1}'}},
            {"index": 1, "function": {"name": "add", "arguments": '{"a": 2}'}},
        ]
    }
    chunks = [wire.chunk(both), wire.chunk({}, "stop"), "[DONE]"]
    server.push(Reply(events=[(None, chunk) for chunk in chunks]))

    response, _ = await ask(compatible, "stream", QUESTION)

    assert [call.arguments for call in response.tool_calls] == [{"a": 1}, {"a": 2}]
    assert response.finish_reason == "tool_calls"  # the server said "stop"
    assert response.usage.total_tokens == 0


async def test_openai_compatible_error_event_mid_stream(
    server: ScriptedServer, compatible: OpenAICompatProvider
) -> None:
    wire = OpenAIWire()
    error = {"error": {"message": "model overloaded", "type": "server_error"}}
    chunks = [wire.chunk({"content": "Hel"}), json.dumps(error)]
    server.push(Reply(events=[(None, chunk) for chunk in chunks]))

    with pytest.raises(ProviderUnavailable, match="model overloaded"):
        await ask(compatible, "stream", QUESTION)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("overloaded_error", ProviderUnavailable), ("rate_limit_error", RateLimited)],
)
async def test_anthropic_error_event_mid_stream(
    server: ScriptedServer, kind: str, expected: type[Exception]
) -> None:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
    }
    error = {"type": "error", "error": {"type": kind, "message": "Overloaded"}}
    server.push(Reply(events=[("message_start", json.dumps(start)), ("error", json.dumps(error))]))
    provider = AnthropicProvider("claude-test", api_key="k", base_url=server.url, timeout=5)
    try:
        with pytest.raises(expected, match="Overloaded"):
            await ask(provider, "stream", QUESTION)
    finally:
        await provider.aclose()
