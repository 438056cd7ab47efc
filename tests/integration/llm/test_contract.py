"""The same behaviour from every HTTP adapter, in generate and stream mode."""

from __future__ import annotations

import asyncio
import json

import pytest

from baton.domain.messages import (
    ChatMessage,
    TextDelta,
    ToolCall,
    ToolCallCompleted,
    ToolDefinition,
)
from baton.llm.errors import (
    AuthenticationFailed,
    ContextLengthExceeded,
    ConversationError,
    InvalidRequest,
    ModelError,
    ProviderUnavailable,
    RateLimited,
)
from baton.llm.provider import GenerateOptions
from baton.llm.retry import RetryingProvider, RetryPolicy
from tests.integration.llm.conftest import Backend, ask, make_adapter
from tests.support.llm_servers import CallSpec, Reply, Turn

CALCULATOR = ToolDefinition(
    name="calculator",
    description="Evaluate an arithmetic expression.",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)
QUESTION = [ChatMessage.system("Be brief."), ChatMessage.user("What is 17 times 23?")]


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def retrying(backend: Backend, sleep: FakeSleep) -> RetryingProvider:
    return RetryingProvider(backend.provider, RetryPolicy(attempts=3, base_delay=0.01), sleep=sleep)


def completed_calls(events: list[object]) -> list[ToolCall]:
    return [event.tool_call for event in events if isinstance(event, ToolCallCompleted)]


async def test_plain_text(backend: Backend) -> None:
    backend.server.push(backend.reply(Turn(text="Seventeen times 23 is 391.")))

    response, events = await backend.ask(QUESTION)

    assert response.content == "Seventeen times 23 is 391."
    assert response.tool_calls == ()
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)
    assert response.model == "test-model"
    assert response.provider == backend.kind
    if backend.mode == "stream":
        deltas = [event.text for event in events if isinstance(event, TextDelta)]
        assert len(deltas) == 2
        assert "".join(deltas) == response.content


async def test_request_shape(backend: Backend) -> None:
    backend.server.push(backend.reply(Turn(text="ok")))

    await backend.ask(QUESTION, [CALCULATOR], GenerateOptions(temperature=0.2, max_tokens=50))

    (request,) = backend.server.requests
    body = request.body
    assert request.headers.get("x-stainless-retry-count") == "0"
    if backend.kind == "anthropic":
        assert request.path == "/v1/messages"
        assert body["system"] == [{"type": "text", "text": "Be brief."}]
        assert body["messages"] == [{"role": "user", "content": "What is 17 times 23?"}]
        assert body["tools"][0]["input_schema"] == CALCULATOR.parameters
        assert body["max_tokens"] == 50
    else:
        assert request.path == "/v1/chat/completions"
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body["tools"][0]["function"]["parameters"] == CALCULATOR.parameters
        key = "max_completion_tokens" if backend.kind == "openai" else "max_tokens"
        assert body[key] == 50
    assert body["temperature"] == 0.2
    assert body.get("stream", False) is (backend.mode == "stream")


async def test_one_tool_call(backend: Backend) -> None:
    call = CallSpec("calculator", '{"expression": "17 * 23"}', id="call_a")
    backend.server.push(backend.reply(Turn(calls=[call])))

    response, events = await backend.ask(QUESTION, [CALCULATOR])

    assert response.content is None
    assert response.finish_reason == "tool_calls"
    (tool_call,) = response.tool_calls
    assert (tool_call.id, tool_call.name) == ("call_a", "calculator")
    assert tool_call.arguments == {"expression": "17 * 23"}
    assert tool_call.error is None
    if backend.mode == "stream":
        assert completed_calls(events) == [tool_call]


async def test_parallel_tool_calls_with_text(backend: Backend) -> None:
    calls = [
        CallSpec("calculator", '{"expression": "1+1"}', id="call_1"),
        CallSpec("calculator", '{"expression": "2+2"}', id="call_2"),
    ]
    backend.server.push(backend.reply(Turn(text="Let me compute both.", calls=calls)))

    response, events = await backend.ask(QUESTION, [CALCULATOR])

    assert response.content == "Let me compute both."
    assert [call.id for call in response.tool_calls] == ["call_1", "call_2"]
    assert [call.arguments["expression"] for call in response.tool_calls] == ["1+1", "2+2"]
    if backend.mode == "stream":
        assert completed_calls(events) == list(response.tool_calls)
        first_call = next(i for i, e in enumerate(events) if isinstance(e, ToolCallCompleted))
        assert all(isinstance(e, TextDelta) for e in events[:first_call])


async def test_arguments_split_mid_string(backend: Backend) -> None:
    raw = '{"expression": "17 * 23", "note": "é ✓"}'
    call = CallSpec(
        "calculator", raw, fragments=['{"expres', 'sion": "17', ' * 23", "no', 'te": "é ✓"}']
    )
    backend.server.push(backend.reply(Turn(calls=[call])))

    response, _ = await backend.ask(QUESTION, [CALCULATOR])

    assert response.tool_calls[0].arguments == {"expression": "17 * 23", "note": "é ✓"}


@pytest.mark.parametrize("raw", ["{}", ""])
async def test_empty_arguments(backend: Backend, raw: str) -> None:
    if backend.kind == "anthropic" and raw == "":
        call = CallSpec("clock", "{}", fragments=[])
    else:
        call = CallSpec("clock", raw)
    backend.server.push(backend.reply(Turn(calls=[call])))

    response, _ = await backend.ask(QUESTION, [CALCULATOR])

    (tool_call,) = response.tool_calls
    assert (tool_call.name, tool_call.arguments, tool_call.error) == ("clock", {}, None)


async def test_invalid_json_arguments_become_a_tool_call_error(backend: Backend) -> None:
    if backend.kind == "anthropic" and backend.mode == "generate":
        pytest.skip("Anthropic's non-streamed tool_use input is always an object")
    call = CallSpec("calculator", '{"expression": "17 *', fragments=['{"expression":', ' "17 *'])
    backend.server.push(backend.reply(Turn(calls=[call])))

    response, _ = await backend.ask(QUESTION, [CALCULATOR])

    (tool_call,) = response.tool_calls
    assert tool_call.name == "calculator"
    assert tool_call.arguments == {}
    assert tool_call.error is not None and "not valid JSON" in tool_call.error
    assert tool_call.raw_arguments == '{"expression": "17 *'


async def test_missing_ids_are_generated(backend: Backend) -> None:
    calls = [
        CallSpec("calculator", '{"expression": "1"}', id=None),
        CallSpec("clock", "{}", id=None),
    ]
    backend.server.push(backend.reply(Turn(calls=calls)))

    response, _ = await backend.ask(QUESTION, [CALCULATOR])

    ids = [call.id for call in response.tool_calls]
    assert [call.name for call in response.tool_calls] == ["calculator", "clock"]
    assert all(call_id.startswith("call_") for call_id in ids)
    assert len(set(ids)) == 2


async def test_rate_limit_with_retry_after_then_success(backend: Backend) -> None:
    sleep = FakeSleep()
    backend.server.push(
        backend.wire.error(429, "rate_limit_error", "slow down", retry_after="2"),
        backend.reply(Turn(text="fine")),
    )

    response, _ = await backend.ask(QUESTION, provider=retrying(backend, sleep))

    assert response.content == "fine"
    assert sleep.delays == [2.0]
    assert len(backend.server.requests) == 2


async def test_rate_limit_surfaces_retry_after(backend: Backend) -> None:
    backend.server.push(backend.wire.error(429, "rate_limit_error", "slow down", retry_after="7"))

    with pytest.raises(RateLimited) as caught:
        await backend.ask(QUESTION)

    assert caught.value.retry_after == 7.0
    assert caught.value.provider == backend.kind


async def test_server_error_then_success(backend: Backend) -> None:
    sleep = FakeSleep()
    backend.server.push(
        backend.wire.error(500, "api_error", "boom"), backend.reply(Turn(text="recovered"))
    )

    response, _ = await backend.ask(QUESTION, provider=retrying(backend, sleep))

    assert response.content == "recovered"
    assert len(sleep.delays) == 1 and 0 <= sleep.delays[0] <= 0.01
    assert len(backend.server.requests) == 2  # the SDK itself did not retry


async def test_timeout_is_provider_unavailable(backend: Backend) -> None:
    reply = backend.reply(Turn(text="too late"))
    reply.delay = 3
    backend.server.push(reply)

    with pytest.raises(ProviderUnavailable, match=r"timed out after 0\.3s"):
        await backend.ask(QUESTION, options=GenerateOptions(timeout=0.3))


async def test_answer_that_is_not_a_json_object_is_provider_unavailable(backend: Backend) -> None:
    if backend.mode == "stream":
        pytest.skip("a stream's events are read one by one")
    backend.server.push(Reply(json=["not", "a", "message"]))

    with pytest.raises(ProviderUnavailable, match="not a JSON object"):
        await backend.ask(QUESTION)


async def test_connection_refused_is_provider_unavailable(backend: Backend) -> None:
    await backend.server.close()

    with pytest.raises(ProviderUnavailable, match="connection failed"):
        await backend.ask(QUESTION)


async def test_server_hanging_up_unanswered_is_a_connection_failure(kind: str, mode: str) -> None:
    # Not a timeout: openai's aiohttp transport reports aiohttp's disconnects as ConnectTimeout.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider = make_adapter(kind, f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(ProviderUnavailable, match="connection failed"):
            await ask(provider, mode, QUESTION)
    finally:
        await provider.aclose()
        server.close()
        await server.wait_closed()


async def test_mid_stream_disconnect(stream_backend: Backend) -> None:
    backend = stream_backend
    reply = backend.reply(Turn(text="This reply will be cut off"))
    reply.disconnect_after = 3
    backend.server.push(reply)

    seen = []
    with pytest.raises(ProviderUnavailable, match="connection"):
        async for event in backend.provider.stream(QUESTION):
            seen.append(event)
    assert seen and all(isinstance(event, TextDelta) for event in seen)


async def test_stream_ending_without_finish_is_unavailable(stream_backend: Backend) -> None:
    backend = stream_backend
    reply = backend.reply(Turn(text="cut"))
    assert reply.events is not None
    reply.events = reply.events[:3]
    backend.server.push(reply)

    with pytest.raises(ProviderUnavailable, match="ended before"):
        await backend.ask(QUESTION)


async def test_groq_tool_use_failed_is_a_model_error_not_retried(groq_backend: Backend) -> None:
    backend = groq_backend
    error = {
        "message": "Failed to call a function. Please adjust your prompt.",
        "type": "invalid_request_error",
        "code": "tool_use_failed",
        "failed_generation": "<function=calculator>{oops}",
    }
    if backend.mode == "stream":
        backend.server.push(Reply(events=[(None, json.dumps({"error": error}))]))
    else:
        backend.server.push(Reply(status=400, json={"error": error}))
    sleep = FakeSleep()

    with pytest.raises(ModelError, match="Failed to call a function"):
        await backend.ask(QUESTION, [CALCULATOR], provider=retrying(backend, sleep))

    assert sleep.delays == []
    assert len(backend.server.requests) == 1


async def test_bad_request_is_not_retried(backend: Backend) -> None:
    backend.server.push(backend.wire.error(400, "invalid_request_error", "bad field"))
    sleep = FakeSleep()

    with pytest.raises(InvalidRequest, match="bad field"):
        await backend.ask(QUESTION, provider=retrying(backend, sleep))

    assert sleep.delays == [] and len(backend.server.requests) == 1


async def test_authentication_and_context_length(backend: Backend) -> None:
    backend.server.push(
        backend.wire.error(401, "authentication_error", "invalid x-api-key"),
        backend.wire.error(
            400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum"
        ),
    )

    with pytest.raises(AuthenticationFailed):
        await backend.ask(QUESTION)
    with pytest.raises(ContextLengthExceeded):
        await backend.ask(QUESTION)


async def test_unanswered_tool_call_is_caught_before_sending(backend: Backend) -> None:
    call = ToolCall.from_arguments("call_1", "calculator", {"expression": "1"})
    messages = [*QUESTION, ChatMessage.assistant(None, [call]), ChatMessage.user("well?")]

    with pytest.raises(ConversationError, match="not answered: call_1"):
        await backend.ask(messages, [CALCULATOR])

    assert backend.server.requests == []


async def test_tool_results_round_trip_with_is_error(backend: Backend) -> None:
    calls = [
        ToolCall.from_arguments("call_1", "calculator", {"expression": "17*23"}),
        ToolCall.from_arguments("call_2", "calculator", {"expression": "1/0"}),
    ]
    messages = [
        *QUESTION,
        ChatMessage.assistant("Computing.", calls),
        ChatMessage.tool("call_1", "calculator", "391"),
        ChatMessage.tool("call_2", "calculator", "division by zero", is_error=True),
    ]
    backend.server.push(backend.reply(Turn(text="391, and 1/0 failed.")))

    response, _ = await backend.ask(messages, [CALCULATOR])

    assert response.content == "391, and 1/0 failed."
    sent = backend.server.requests[0].body["messages"]
    if backend.kind == "anthropic":
        assert sent[-1] == {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "391"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": "division by zero",
                    "is_error": True,
                },
            ],
        }
        assert sent[-2]["content"][1] == {
            "type": "tool_use",
            "id": "call_1",
            "name": "calculator",
            "input": {"expression": "17*23"},
        }
    else:
        assert sent[-1] == {
            "role": "tool",
            "tool_call_id": "call_2",
            "content": "division by zero",
        }
        assert sent[-3]["tool_calls"][0]["function"] == {
            "name": "calculator",
            "arguments": '{"expression":"17*23"}',
        }


READ_FILE = ToolDefinition(
    name="mcp.files.read_file",
    description="Read a file (an MCP tool: Baton names them mcp.<server>.<tool>).",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}},
)


async def test_mcp_tool_names_go_out_as_the_provider_accepts_and_come_back(
    backend: Backend,
) -> None:
    # The local servers answer 400 to a tool name outside ^[a-zA-Z0-9_-]{1,64}$ as the
    # real APIs do, so sending Baton's dotted MCP names as they are fails this test.
    earlier = ToolCall.from_arguments("call_0", "mcp.files.read_file", {"path": "a.txt"})
    messages = [
        *QUESTION,
        ChatMessage.assistant(None, [earlier]),
        ChatMessage.tool("call_0", "mcp.files.read_file", "hello"),
    ]
    call = CallSpec("mcp_files_read_file", '{"path": "b.txt"}', id="call_b")
    backend.server.push(backend.reply(Turn(calls=[call])))

    response, events = await backend.ask(messages, [READ_FILE, CALCULATOR])

    (tool_call,) = response.tool_calls
    assert (tool_call.name, tool_call.arguments) == ("mcp.files.read_file", {"path": "b.txt"})
    if backend.mode == "stream":
        assert completed_calls(events) == [tool_call]
    body = backend.server.requests[0].body
    if backend.kind == "anthropic":
        sent_tools = [t["name"] for t in body["tools"]]
        sent_calls = [b["name"] for b in body["messages"][1]["content"] if b["type"] == "tool_use"]
    else:
        sent_tools = [t["function"]["name"] for t in body["tools"]]
        sent_calls = [c["function"]["name"] for c in body["messages"][2]["tool_calls"]]
    assert sent_tools == ["mcp_files_read_file", "calculator"]
    assert sent_calls == ["mcp_files_read_file"]
