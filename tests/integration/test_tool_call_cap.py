"""One model response cannot start an unbounded number of tool calls."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from baton.domain.messages import ChatMessage, LLMResponse, ToolCall, ToolDefinition
from baton.llm.scripted import ScriptedLLM
from tests.support.tasks import make_agent, script, wait_for

CALLS = 20


def _many_calls(messages: Sequence[ChatMessage], _tools: Sequence[ToolDefinition]) -> LLMResponse:
    if messages[-1].role == "tool":
        return LLMResponse(content="done", tool_calls=(), finish_reason="stop")
    calls = tuple(
        ToolCall.from_arguments(f"call_{i}", "calculator", {"expression": f"{i}+1"})
        for i in range(CALLS)
    )
    return LLMResponse(content=None, tool_calls=calls, finish_reason="tool_calls")


async def test_calls_past_the_cap_are_refused_and_audited(client: httpx.AsyncClient) -> None:
    script(client, "many", ScriptedLLM(_many_calls))
    agent = await make_agent(client, "greedy", model="many")
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "go"}},
    )
    task = await wait_for(client, r.json()["id"])
    assert task["status"] == "completed", task
    answers = [m for m in task["result"]["messages"] if m["role"] == "tool"]
    assert len(answers) == CALLS  # every call answered, so the conversation stays valid
    ran = [json.loads(m["content"]) for m in answers[:16]]
    assert ran == [{"result": i + 1} for i in range(16)]
    for refused in answers[16:]:
        assert "at most 16 tool calls" in json.loads(refused["content"])["error"]
    trace = (await client.get(f"/api/agents/tasks/{task['id']}/trace")).json()
    executed = [e for e in trace if e["type"] == "tool_call"]
    assert len(executed) == 16
    refusals = [e for e in trace if e["type"] == "tool_result" and not e["payload"]["success"]]
    assert len(refusals) == CALLS - 16
