"""Agent tasks end to end through HTTP: submit → queue → worker → agent loop → result."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from baton.llm.errors import ProviderUnavailable
from baton.llm.scripted import ScriptedLLM
from tests.support.api import make_tenant
from tests.support.tasks import calculator_script, make_agent, script, wait_for


async def test_submit_runs_to_completion_with_the_tool_result_and_a_trace(
    client: httpx.AsyncClient,
) -> None:
    llm = script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "2+3?"}},
    )
    assert r.status_code == 202, r.text
    submitted = r.json()
    assert submitted["status"] == "submitted"
    assert submitted["agent_version"] == 1
    task = await wait_for(client, submitted["id"])
    assert task["status"] == "completed", task
    assert task["result"]["output"] == 'DONE: {"result": 5}'
    assert task["started_at"] and task["completed_at"]
    roles = [m["role"] for m in task["result"]["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert len(llm.calls) == 2
    assert [t.name for t in llm.calls[0].tools] == ["calculator"]

    trace = (await client.get(f"/api/agents/tasks/{task['id']}/trace")).json()
    kinds = [e["type"] for e in trace]
    for expected in ("prompt", "llm_response", "tool_call", "tool_result", "result"):
        assert expected in kinds, kinds
    statuses = [e["payload"]["to"] for e in trace if e["type"] == "status_change"]
    assert statuses == ["submitted", "running", "completed"]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("result")
    assert (await client.get("/api/audit/verify")).json()["valid"] is True


async def test_task_type_picks_a_matching_agent(client: httpx.AsyncClient) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "mathematician", model="calc", capabilities=["arith"])
    r = await client.post(
        "/api/agents/tasks", json={"task_type": "arith", "input": {"prompt": "x"}}
    )
    assert r.status_code == 202, r.text
    assert r.json()["agent_id"] == agent["id"]
    none = await client.post(
        "/api/agents/tasks", json={"task_type": "poetry", "input": {"prompt": "x"}}
    )
    assert none.status_code == 422
    assert none.json()["error"]["details"][0]["field"] == "task_type"


async def test_an_agent_changed_here_counts_for_the_next_submission_at_once(
    client: httpx.AsyncClient,
) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc", capabilities=["arith"])
    body = {"agent_id": agent["id"], "task_type": "arith", "input": {"prompt": "x"}}
    by_type = {"task_type": "arith", "input": {"prompt": "x"}}
    assert (await client.post("/api/agents/tasks", json=body)).json()["agent_version"] == 1
    assert (await client.post("/api/agents/tasks", json=by_type)).status_code == 202
    patched = await client.patch(
        f"/api/agents/{agent['id']}",
        json={"config": {"provider": "scripted", "model": "calc", "max_steps": 5}},
    )
    assert patched.status_code == 200, patched.text
    assert (await client.post("/api/agents/tasks", json=body)).json()["agent_version"] == 2
    assert (await client.post("/api/agents/tasks", json=by_type)).json()["agent_version"] == 2
    await client.delete(f"/api/agents/{agent['id']}")
    assert (await client.post("/api/agents/tasks", json=body)).status_code == 409
    assert (await client.post("/api/agents/tasks", json=by_type)).status_code == 422
    newcomer = await make_agent(client, "counter", model="calc", capabilities=["arith"])
    found = await client.post("/api/agents/tasks", json=by_type)
    assert found.json()["agent_id"] == newcomer["id"]


async def test_a_retried_submission_is_answered_even_after_its_agent_went(
    client: httpx.AsyncClient,
) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    body = {
        "agent_id": agent["id"],
        "task_type": "math",
        "input": {"prompt": "x"},
        "idempotency_key": "k-1",
    }
    first = await client.post("/api/agents/tasks", json=body)
    await client.delete(f"/api/agents/{agent['id']}")
    again = await client.post("/api/agents/tasks", json=body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = await client.post("/api/agents/tasks", json={**body, "idempotency_key": "k-2"})
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_type": "math", "input": {}}, "input"),
        ({"task_type": "math", "input": {"prompt": ""}}, "input.prompt"),
        ({"task_type": "math", "input": {"messages": [{"role": "x"}]}}, "input.messages[0].role"),
        ({"task_type": "", "input": {"prompt": "x"}}, "task_type"),
        ({"task_type": "math", "input": {"prompt": "x"}, "max_retries": 99}, "max_retries"),
        ({"task_type": "math", "input": {"prompt": "x"}, "agent_id": "nope"}, "agent_id"),
    ],
)
async def test_bad_submissions_are_422(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await client.post("/api/agents/tasks", json=body)
    assert r.status_code == 422, r.text
    assert any(d["field"] == field for d in r.json()["error"]["details"]), r.json()


async def test_idempotency_key_returns_the_same_task(client: httpx.AsyncClient) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    body = {
        "agent_id": agent["id"],
        "task_type": "math",
        "input": {"prompt": "2+3"},
        "idempotency_key": "order-42",
    }
    first = await client.post("/api/agents/tasks", json=body)
    again = await client.post("/api/agents/tasks", json=body)
    assert first.status_code == 202 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    listed = (await client.get("/api/agents/tasks")).json()["items"]
    assert [t["id"] for t in listed] == [first.json()["id"]]


async def test_a_transient_outage_is_retried_and_a_permanent_one_is_not(
    client: httpx.AsyncClient,
) -> None:
    outage = ProviderUnavailable("upstream 503", provider="scripted")
    script(client, "flaky", ScriptedLLM([outage, outage, "recovered"]))
    agent = await make_agent(client, "flaky", model="flaky", tools=[])
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}},
    )
    task = await wait_for(client, r.json()["id"], within=60)
    assert task["status"] == "completed", task
    assert task["retry_count"] == 2
    assert task["result"]["output"] == "recovered"

    script(client, "down", ScriptedLLM(lambda m, t: ProviderUnavailable("down", provider="s")))
    down = await make_agent(client, "down", model="down", tools=[])
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": down["id"], "task_type": "m", "input": {"prompt": "x"}, "max_retries": 2},
    )
    task = await wait_for(client, r.json()["id"], within=60)
    assert task["status"] == "failed"
    assert task["retry_count"] == 2
    assert "down" in task["error"] and "gave up after 2 retries" in task["error"]

    from baton.llm.errors import InvalidRequest

    script(client, "bad", ScriptedLLM(lambda m, t: InvalidRequest("bad request", provider="s")))
    bad = await make_agent(client, "bad", model="bad", tools=[])
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": bad["id"], "task_type": "m", "input": {"prompt": "x"}},
    )
    task = await wait_for(client, r.json()["id"])
    assert task["status"] == "failed" and task["retry_count"] == 0


async def test_max_steps_fails_the_task_at_once(client: httpx.AsyncClient) -> None:
    forever = script(client, "loop", ScriptedLLM(lambda m, t: calculator_script(m[:1], t)))
    agent = await make_agent(client, "looper", model="loop", max_steps=3)
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}},
    )
    task = await wait_for(client, r.json()["id"])
    assert task["status"] == "failed"
    assert "max_steps (3)" in task["error"]
    assert task["retry_count"] == 0
    assert len(forever.calls) == 3


async def test_cancel_a_running_task(client: httpx.AsyncClient) -> None:
    started = asyncio.Event()

    async def hang(messages: object, tools: object) -> str:
        started.set()
        await asyncio.sleep(3600)
        return "never"

    script(client, "hang", ScriptedLLM(hang))
    agent = await make_agent(client, "hanger", model="hang", tools=[])
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}},
    )
    task_id = r.json()["id"]
    await asyncio.wait_for(started.wait(), 10)
    cancelled = await client.post(f"/api/agents/tasks/{task_id}/cancel")
    assert cancelled.status_code == 200
    task = await wait_for(client, task_id, within=1.0)  # within a second
    assert task["status"] == "cancelled"
    trace = (await client.get(f"/api/agents/tasks/{task_id}/trace")).json()
    assert trace[-1]["type"] == "status_change" and trace[-1]["payload"]["to"] == "cancelled"
    again = await client.post(f"/api/agents/tasks/{task_id}/cancel")
    assert again.json()["status"] == "cancelled"  # idempotent


async def test_tasks_are_tenant_scoped(client: httpx.AsyncClient) -> None:
    a = await make_tenant(client, "a")
    b = await make_tenant(client, "b")
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc", headers=a.auth("admin"))
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}},
        headers=a.auth("developer"),
    )
    task_id = r.json()["id"]
    for method, path in (
        ("GET", f"/api/agents/tasks/{task_id}"),
        ("POST", f"/api/agents/tasks/{task_id}/cancel"),
        ("GET", f"/api/agents/tasks/{task_id}/trace"),
        ("GET", f"/api/agents/tasks/{task_id}/events"),
    ):
        other = await client.request(method, path, headers=b.auth("admin"))
        assert other.status_code == 404, (path, other.text)
    # B cannot run A's agent either.
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}},
        headers=b.auth("developer"),
    )
    assert r.status_code == 422
    assert (await client.get("/api/agents/tasks", headers=b.auth("viewer"))).json()["items"] == []
    viewer = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}},
        headers=a.auth("viewer"),
    )
    assert viewer.status_code == 403


async def _read_sse(response: httpx.Response, count: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    current: dict[str, object] = {}
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and "id" in current:
            events.append(current)
            current = {}
            if len(events) >= count:
                break
    return events


async def test_sse_resumes_with_last_event_id_and_misses_nothing(
    client: httpx.AsyncClient,
) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    r = await client.post(
        "/api/agents/tasks",
        json={"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}},
    )
    task_id = r.json()["id"]
    await wait_for(client, task_id)
    url = f"/api/agents/tasks/{task_id}/events"
    async with client.stream("GET", url) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        everything = await _read_sse(response, 100)  # the stream ends with the task
    statuses = [e["data"]["status"] for e in everything if e["data"]["type"] == "status"]  # type: ignore[index]
    assert statuses == ["submitted", "running", "completed"]
    assert any(e["data"]["type"] == "step" for e in everything)  # type: ignore[index]
    async with client.stream("GET", url) as response:
        first_two = await _read_sse(response, 2)  # then the client drops
    resume = {"Last-Event-ID": str(first_two[-1]["id"])}
    async with client.stream("GET", url, headers=resume) as response:
        rest = await _read_sse(response, 100)
    assert [e["id"] for e in first_two + rest] == [e["id"] for e in everything]
    bad = await client.get(url, headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422
