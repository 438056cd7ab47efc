"""A worker process killed with SIGKILL mid-task: another worker finishes the task once,
after the lease expires, without running the completed tool call again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from baton.bootstrap import create_app
from baton.config import Settings
from tests.support.llm_servers import CallSpec, OpenAIWire, ScriptedServer, Turn
from tests.support.tasks import wait_for

BATON = str(Path(sys.executable).with_name("baton"))


def _worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=str(settings.database_url),
        BATON_DATA_DIR=str(settings.data_dir),
        BATON_AUTO_MIGRATE="false",
        BATON_WORKER_LEASE_S="2",
        BATON_WORKER_HEARTBEAT_S="0.5",
        BATON_WORKER_POLL_S="0.1",
        BATON_TASK_RETRY_BASE_S="0.1",
        BATON_LLM_COMPATIBLE_API_KEY="test-key",
    )
    return subprocess.Popen(
        [BATON, "worker"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


async def _until(predicate: object, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_killed_worker_task_is_finished_by_another_exactly_once(
    settings: Settings, tmp_path: Path
) -> None:
    wire = OpenAIWire()
    same_call = '{"expression": "6*7"}'
    async with ScriptedServer() as llm:
        hang = wire.json(Turn(text="never sent"))
        hang.delay = 3600  # the first worker dies while waiting for this answer
        llm.push(
            wire.json(Turn(calls=[CallSpec("calculator", same_call, id="call_first")])),
            hang,
            wire.json(Turn(calls=[CallSpec("calculator", same_call, id="call_second")])),
            wire.json(Turn(text="forty-two")),
        )
        app = create_app(settings.model_copy(update={"run_workers": False}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                client.headers["Authorization"] = f"Bearer {settings.admin_key.get_secret_value()}"  # type: ignore[union-attr]
                agent = await client.post(
                    "/api/agents",
                    json={
                        "name": "crashy",
                        "capabilities": ["math"],
                        "tools": ["calculator"],
                        "config": {
                            "provider": "openai_compatible",
                            "model": "m",
                            "base_url": f"{llm.url}/v1",
                        },
                    },
                )
                assert agent.status_code == 201, agent.text
                submitted = await client.post(
                    "/api/agents/tasks",
                    json={
                        "agent_id": agent.json()["id"],
                        "task_type": "math",
                        "input": {"prompt": "6*7?"},
                    },
                )
                task_id = submitted.json()["id"]

                first = _worker(settings, tmp_path / "first.log")
                try:
                    await _until(lambda: len(llm.requests) >= 2)  # tool ran, waiting on the model
                    first.send_signal(signal.SIGKILL)
                    first.wait(timeout=10)
                finally:
                    first.kill()
                second = _worker(settings, tmp_path / "second.log")
                try:
                    task = await wait_for(client, task_id, within=60)
                finally:
                    second.send_signal(signal.SIGTERM)
                    second.wait(timeout=30)
                assert task["status"] == "completed", (task, (tmp_path / "second.log").read_text())
                assert task["result"]["output"] == "forty-two"
                trace = (await client.get(f"/api/agents/tasks/{task_id}/trace")).json()
                verify = (await client.get("/api/audit/verify")).json()
    statuses = [e["payload"]["to"] for e in trace if e["type"] == "status_change"]
    assert statuses == ["submitted", "running", "submitted", "running", "completed"]
    assert [e["payload"].get("reason") for e in trace if e["type"] == "status_change"][2] == (
        "lease expired"
    )
    ran = [e for e in trace if e["type"] == "tool_call"]
    assert len(ran) == 1  # the calculator ran once, in the first worker
    reused = [
        e
        for e in trace
        if e["type"] == "tool_result" and e["payload"].get("reused_from_earlier_attempt")
    ]
    assert len(reused) == 1
    assert len(llm.requests) == 4
    assert verify["valid"] is True
    assert second.returncode in (0, -15)
