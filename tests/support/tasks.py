"""Helpers for task tests: agents on a scripted model, waiting for tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from baton.domain.messages import ChatMessage, LLMResponse, ToolCall, ToolDefinition
from baton.llm.scripted import ScriptedLLM

TERMINAL = {"completed", "failed", "cancelled"}


def calculator_script(
    messages: Sequence[ChatMessage], _tools: Sequence[ToolDefinition]
) -> LLMResponse | str:
    """Asks the calculator for 2+3 once, then answers with what it got."""
    last = messages[-1]
    if last.role == "tool":
        return f"DONE: {last.content}"
    call = ToolCall.from_arguments(f"call_{len(messages)}", "calculator", {"expression": "2+3"})
    return LLMResponse(content=None, tool_calls=(call,), finish_reason="tool_calls")


async def make_agent(
    client: httpx.AsyncClient,
    name: str,
    *,
    model: str,
    tools: Sequence[Any] = ("calculator",),
    capabilities: Sequence[str] = ("math",),
    headers: dict[str, str] | None = None,
    **config: Any,
) -> dict[str, Any]:
    """Create an agent on the ``scripted`` provider with ``model`` (register its script)."""
    body = {
        "name": name,
        "description": f"test agent {name}",
        "capabilities": list(capabilities),
        "tools": list(tools),
        "config": {"provider": "scripted", "model": model, **config},
    }
    response = await client.post("/api/agents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    agent: dict[str, Any] = response.json()
    return agent


def script(client: httpx.AsyncClient, model: str, llm: ScriptedLLM) -> ScriptedLLM:
    """Serve ``model`` of the scripted provider with ``llm`` in the client's app."""
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.services.providers.register("scripted", model, llm)
    return llm


async def wait_for(
    client: httpx.AsyncClient,
    task_id: str,
    statuses: set[str] = TERMINAL,
    within: float = 30.0,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Poll a task until its status is one of ``statuses``."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await client.get(f"/api/agents/tasks/{task_id}", headers=headers)
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        if task["status"] in statuses:
            return task
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"task {task_id} stuck in {task['status']}")
        await asyncio.sleep(0.02)
