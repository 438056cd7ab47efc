"""An agent task on the real embedded model (SmolLM2 through llama.cpp), end to end."""

from __future__ import annotations

import httpx

from baton.bootstrap import create_app
from baton.config import Settings
from tests.support.tasks import wait_for


async def test_demo_calculator_agent_calls_the_calculator_on_the_local_model(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"demo_agents": True}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            client.headers["Authorization"] = f"Bearer {settings.admin_key.get_secret_value()}"  # type: ignore[union-attr]
            agents = (await client.get("/api/agents")).json()["items"]
            assert {a["name"] for a in agents} >= {"assistant", "calculator"}
            calculator = next(a for a in agents if a["name"] == "calculator")
            assert calculator["config"]["provider"] == "local"
            r = await client.post(
                "/api/agents/tasks",
                json={
                    "agent_id": calculator["id"],
                    "task_type": "math",
                    "input": {"prompt": "What is 17 times 23? Use the calculator."},
                    "max_retries": 0,
                },
            )
            assert r.status_code == 202, r.text
            task = await wait_for(client, r.json()["id"], within=240)
            trace = (await client.get(f"/api/agents/tasks/{task['id']}/trace")).json()
    calls = [e for e in trace if e["type"] == "tool_call"]
    assert calls, f"the model made no tool call: {task}"
    assert calls[0]["payload"]["name"] == "calculator", calls[0]
    results = [e for e in trace if e["type"] == "tool_result" and e["payload"].get("success")]
    assert results, trace  # the gateway ran it and answered
    assert task["status"] in ("completed", "failed"), task
    if task["status"] == "failed":  # a 135M model may keep calling the tool
        assert "max_steps" in task["error"], task
    responses = [e for e in trace if e["type"] == "llm_response"]
    assert responses[0]["payload"]["provider"] == "local"
