"""Webhooks on task completion: signed, durable (an outbox row per finished task), retried."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from baton.config import Settings
from baton.domain.audit import CheckpointSigner
from baton.domain.ids import new_id
from baton.domain.webhooks import verify_signature
from baton.llm.errors import InvalidRequest
from baton.llm.scripted import ScriptedLLM
from baton.queue.signals import Signals
from baton.queue.task_queue import QueueLimits, TaskQueue
from baton.services.audit import AuditService
from baton.services.container import Services
from baton.services.webhooks import WebhookSender, WebhookSettings
from baton.store.database import Database
from baton.store.tables import AgentTaskRow
from baton.store.tasks import NewTask
from baton.store.webhooks import DeliveryRecord
from tests.conftest import ADMIN_KEY
from tests.support.api import app_client as started_app
from tests.support.api import make_tenant
from tests.support.tasks import calculator_script, make_agent, script, wait_for


@dataclass
class Received:
    """One request the receiver got, byte for byte."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP server on 127.0.0.1 answering with scripted statuses (then 200)."""

    statuses: list[int] = field(default_factory=list)
    always: int | None = None
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    headers[key.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(head[0].split(" ")[1], headers, body))
            status = self.always or (self.statuses.pop(0) if self.statuses else 200)
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    server = await asyncio.start_server(r.handle, "127.0.0.1", 0)
    r.port = server.sockets[0].getsockname()[1]
    async with server:
        yield r


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Receivers on loopback, quick polls and tiny backoffs."""
    return settings.model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_poll_s": 0.05,
            "webhook_retry_base_s": 0.01,
            "webhook_retry_cap_s": 0.02,
            "webhook_max_attempts": 3,
        }
    )


def services_of(client: httpx.AsyncClient) -> Services:
    services: Services = client._transport.app.state.services  # type: ignore[attr-defined]
    return services


async def deliveries_of(
    client: httpx.AsyncClient, task_id: str, *, settled: bool = True, within: float = 10.0
) -> list[DeliveryRecord]:
    """The task's deliveries; with ``settled``, once none is pending any more."""
    services = services_of(client)
    tenant_id = (await services.tenancy.authenticate(ADMIN_KEY)).tenant_id
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await services.webhooks.deliveries(tenant_id, task_id)
        if not settled or (found and all(d.status != "pending" for d in found)):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"deliveries of {task_id} still pending: {found}")
        await asyncio.sleep(0.02)


async def submit(client: httpx.AsyncClient, agent_id: str, **extra: Any) -> str:
    body = {"agent_id": agent_id, "task_type": "math", "input": {"prompt": "2+3?"}, **extra}
    r = await client.post("/api/agents/tasks", json=body)
    assert r.status_code == 202, r.text
    task_id: str = r.json()["id"]
    return task_id


async def test_a_completed_task_sends_one_signed_delivery(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    task_id = await submit(client, agent["id"], webhook_url=receiver.url)
    task = await wait_for(client, task_id)
    [delivery] = await deliveries_of(client, task_id)
    assert delivery.status == "delivered" and delivery.delivery.attempts == 1
    assert delivery.delivered_at is not None and delivery.last_error is None
    [request] = receiver.requests
    assert request.path == "/hook"
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-baton-event"] == "task.completed"
    assert headers["x-baton-delivery"] == delivery.delivery.id
    secret = (await client.get("/api/webhooks/secret")).json()["secret"]
    timestamp = int(headers["x-baton-timestamp"])
    assert verify_signature(
        bytes.fromhex(secret), timestamp, request.body, headers["x-baton-signature"]
    )
    assert not verify_signature(
        bytes.fromhex(secret), timestamp, request.body + b" ", headers["x-baton-signature"]
    )
    payload = json.loads(request.body)
    assert payload["event"] == "task.completed"
    sent = payload["task"]
    for key in ("id", "agent_id", "agent_version", "task_type", "status", "result", "error"):
        assert sent[key] == task[key], key
    assert sent["retry_count"] == task["retry_count"]
    assert sent["result"]["output"] == 'DONE: {"result": 5}'
    assert set(sent) == {
        "id",
        "agent_id",
        "agent_version",
        "task_type",
        "status",
        "result",
        "error",
        "retry_count",
        "created_at",
        "started_at",
        "completed_at",
    }
    await asyncio.sleep(0.2)  # more polls send nothing more
    assert len(receiver.requests) == 1


async def test_a_failing_receiver_is_retried_until_it_answers(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500]
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    task_id = await submit(client, agent["id"], webhook_url=receiver.url)
    await wait_for(client, task_id)
    [delivery] = await deliveries_of(client, task_id)
    assert delivery.status == "delivered" and delivery.delivery.attempts == 3
    assert len(receiver.requests) == 3
    ids = {r.headers["x-baton-delivery"] for r in receiver.requests}
    assert ids == {delivery.delivery.id}


async def test_a_receiver_that_always_fails_is_given_up_on(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.always = 503
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    task_id = await submit(client, agent["id"], webhook_url=receiver.url)
    await wait_for(client, task_id)
    [delivery] = await deliveries_of(client, task_id)
    assert delivery.status == "failed" and delivery.delivery.attempts == 3
    assert delivery.last_error is not None and "HTTP 503" in delivery.last_error
    assert len(receiver.requests) == 3


async def test_failed_deliveries_are_logged_without_the_query_string(
    client: httpx.AsyncClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.always = 503
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    url = f"{receiver.url}?token=hook-s3cret#frag-s3cret"
    with caplog.at_level("INFO", logger="baton.services.webhooks"):
        task_id = await submit(client, agent["id"], webhook_url=url)
        await wait_for(client, task_id)
        [delivery] = await deliveries_of(client, task_id)
    assert delivery.status == "failed"
    assert receiver.requests[0].path == "/hook?token=hook-s3cret"  # the receiver gets it all
    failures = [r.getMessage() for r in caplog.records if "failed (attempt" in r.getMessage()]
    assert len(failures) == 3
    assert all(f" to {receiver.url} failed" in m for m in failures), failures
    assert "s3cret" not in caplog.text


async def test_an_unreachable_receiver_records_the_connection_error(
    client: httpx.AsyncClient,
) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens on the port any more
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    task_id = await submit(client, agent["id"], webhook_url=f"http://127.0.0.1:{port}/x")
    await wait_for(client, task_id)
    [delivery] = await deliveries_of(client, task_id)
    assert delivery.status == "failed" and delivery.last_error


async def test_failed_and_cancelled_tasks_send_their_events(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    script(client, "bad", ScriptedLLM(lambda m, t: InvalidRequest("bad request", provider="s")))
    bad = await make_agent(client, "bad", model="bad", tools=[])
    failed_id = await submit(client, bad["id"], webhook_url=receiver.url)
    assert (await wait_for(client, failed_id))["status"] == "failed"
    [failed] = await deliveries_of(client, failed_id)
    assert failed.delivery.event == "task.failed" and failed.status == "delivered"
    assert failed.delivery.payload["task"]["error"]

    started = asyncio.Event()

    async def hang(messages: object, tools: object) -> str:
        started.set()
        await asyncio.sleep(3600)
        return "never"

    script(client, "hang", ScriptedLLM(hang))
    agent = await make_agent(client, "hanger", model="hang", tools=[], max_concurrency=1)
    running_id = await submit(client, agent["id"], webhook_url=receiver.url)
    await asyncio.wait_for(started.wait(), 10)
    queued_id = await submit(client, agent["id"], webhook_url=receiver.url)
    for task_id in (queued_id, running_id):  # the queued one is cancelled at once
        r = await client.post(f"/api/agents/tasks/{task_id}/cancel")
        assert r.status_code == 200, r.text
        assert (await wait_for(client, task_id))["status"] == "cancelled"
        [cancelled] = await deliveries_of(client, task_id)
        assert cancelled.delivery.event == "task.cancelled" and cancelled.status == "delivered"
    events = [r.headers["x-baton-event"] for r in receiver.requests]
    assert events == ["task.failed", "task.cancelled", "task.cancelled"]


async def test_no_webhook_url_means_no_delivery(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    task_id = await submit(client, agent["id"])
    await wait_for(client, task_id)
    await asyncio.sleep(0.2)
    assert await deliveries_of(client, task_id, settled=False) == []
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata: refused always
        "ftp://example.com/hook",
        "http://127.0.0.1/" + "x" * 2000,
        "not a url",
        "http://user:pw@127.0.0.1/hook",
    ],
)
async def test_bad_webhook_urls_are_422(client: httpx.AsyncClient, url: str) -> None:
    script(client, "calc", ScriptedLLM(calculator_script))
    agent = await make_agent(client, "adder", model="calc")
    body = {"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}}
    r = await client.post("/api/agents/tasks", json={**body, "webhook_url": url})
    assert r.status_code == 422, r.text
    assert any(d["field"] == "webhook_url" for d in r.json()["error"]["details"]), r.json()


def app_client(settings: Settings) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    return started_app(settings, key=ADMIN_KEY)


async def test_private_addresses_are_refused_by_default(settings: Settings) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    async with app_client(strict) as client:
        script(client, "calc", ScriptedLLM(calculator_script))
        agent = await make_agent(client, "adder", model="calc")
        body = {"agent_id": agent["id"], "task_type": "math", "input": {"prompt": "x"}}
        for url in ("http://127.0.0.1:8080/hook", "http://10.0.0.1/hook", "http://[::1]/"):
            r = await client.post("/api/agents/tasks", json={**body, "webhook_url": url})
            assert r.status_code == 422, r.text
            [detail] = r.json()["error"]["details"]
            assert detail["field"] == "webhook_url", detail
            assert "webhook_url" in r.json()["error"]["message"]


async def test_the_secret_is_per_tenant_and_for_admins(client: httpx.AsyncClient) -> None:
    mine = (await client.get("/api/webhooks/secret")).json()["secret"]
    other = await make_tenant(client, "other")
    theirs = await client.get("/api/webhooks/secret", headers=other.auth("admin"))
    assert theirs.status_code == 200
    assert len(bytes.fromhex(mine)) == 32 and theirs.json()["secret"] != mine
    denied = await client.get("/api/webhooks/secret", headers=other.auth("developer"))
    assert denied.status_code == 403
    again = (await client.get("/api/webhooks/secret")).json()["secret"]
    assert again == mine


async def test_a_task_failed_by_crashes_owes_a_delivery_sent_once(database: Database) -> None:
    audit = AuditService(database, CheckpointSigner.generate())
    limits = QueueLimits(lease=timedelta(seconds=30), max_crashes=1)
    queue = TaskQueue(database, audit, Signals(), limits)
    task, _ = await queue.submit(
        NewTask(
            id=new_id(),
            tenant_id="tenant-w",
            kind="add",
            agent_id=None,
            agent_version=None,
            task_type="add",
            input={},
            priority=0,
            max_retries=0,
            timeout_s=None,
            idempotency_key=None,
            created_by=None,
            webhook_url="http://127.0.0.1:9/hook",
        ),
        actor=None,
    )
    assert [t.id for t in await queue.claim("w", 1)] == [task.id]
    async with database.engine.begin() as conn:  # the worker vanished: its lease ran out
        await conn.execute(
            update(AgentTaskRow).values(lease_expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    assert await queue.reap() == 1

    seen: list[httpx.Request] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await asyncio.sleep(0.05)  # both senders are busy at once
        return httpx.Response(204)

    transport = httpx.MockTransport(answer)
    config = WebhookSettings(allow_private=True)
    senders = [WebhookSender(database, b"master", config, transport=transport) for _ in "ab"]
    counts = await asyncio.gather(*(s.deliver_due() for s in senders))
    assert sorted(counts) == [0, 1]
    [request] = seen
    assert request.headers["x-baton-event"] == "task.failed"
    assert request.headers["host"] == "127.0.0.1:9"
    secret = senders[0].secret_for("tenant-w")
    timestamp = int(request.headers["x-baton-timestamp"])
    signature = request.headers["x-baton-signature"]
    assert verify_signature(secret, timestamp, request.content, signature)
    assert not verify_signature(b"another", timestamp, request.content, signature)
    assert not verify_signature(secret, timestamp - 600, request.content, signature)
    [delivery] = await senders[0].deliveries("tenant-w", task.id)
    assert delivery.status == "delivered"
    assert delivery.delivery.payload["task"]["error"].startswith("worker lost 1 times")
    assert await senders[1].deliver_due() == 0
