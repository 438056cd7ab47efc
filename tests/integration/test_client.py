"""The Python client (sync and async) over real HTTP against an in-process uvicorn server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from baton.bootstrap import create_app
from baton.client import (
    AsyncBatonClient,
    AuthenticationError,
    BatonAPIError,
    BatonClient,
    BatonConnectionError,
    ConflictError,
    Event,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SSEDecoder,
    Task,
    resolve_api_key,
)
from baton.config import Settings
from baton.llm.scripted import ScriptedLLM
from tests.conftest import ADMIN_KEY
from tests.support.tasks import calculator_script

# --- a real server on a free loopback port, in a background thread ---------------------


@dataclass
class LiveServer:
    """A started app behind uvicorn, its URL, and a lever to release hanging scripts."""

    url: str
    app: FastAPI
    release: threading.Event

    def script(self, model: str, llm: ScriptedLLM) -> ScriptedLLM:
        self.app.state.services.providers.register("scripted", model, llm)
        return llm

    def agent(self, name: str, model: str, tools: tuple[str, ...] = ()) -> str:
        body = {
            "name": name,
            "capabilities": ["math"],
            "tools": list(tools),
            "config": {"provider": "scripted", "model": model},
        }
        r = httpx.post(f"{self.url}/api/agents", json=body, headers=_auth(ADMIN_KEY))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def hanging_agent(self) -> str:
        release = self.release

        async def hang(messages: object, tools: object) -> str:
            while not release.is_set():  # noqa: ASYNC110 (a thread sets it, not this loop)
                await asyncio.sleep(0.02)
            return "released"

        self.script("hang", ScriptedLLM(hang))
        return self.agent("hanger", "hang")


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    live = LiveServer(f"http://127.0.0.1:{port}", app, threading.Event())
    try:
        yield live
    finally:
        live.release.set()
        srv.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture
def sync_client(server: LiveServer) -> Iterator[BatonClient]:
    with BatonClient(server.url, ADMIN_KEY) as client:
        yield client


@pytest.fixture
async def async_client(server: LiveServer) -> AsyncIterator[AsyncBatonClient]:
    async with AsyncBatonClient(server.url, ADMIN_KEY) as client:
        yield client


# --- transports that record requests and cut event streams mid-event -----------------


class _Cutter:
    """Passes bytes through until ``after`` events have gone by, then half an event more."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.sent = b""

    def take(self, chunk: bytes) -> tuple[bytes, bool]:
        seen = self.sent + chunk
        boundary, start = -1, 0
        for _ in range(self.after):
            boundary = seen.find(b"\n\n", start)
            if boundary < 0:
                self.sent = seen
                return chunk, False
            start = boundary + 2
        cut = start + 20  # into the next event: it must be dropped, not half-delivered
        if len(seen) <= cut:
            self.sent = seen
            return chunk, False
        return seen[len(self.sent) : cut], True


class _CutStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, after: int) -> None:
        self.inner, self.cutter = inner, _Cutter(after)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            part, cut = self.cutter.take(chunk)
            yield part
            if cut:
                raise httpx.RemoteProtocolError("peer closed connection (cut by the test)")

    def close(self) -> None:
        self.inner.close()


class _AsyncCutStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, after: int) -> None:
        self.inner, self.cutter = inner, _Cutter(after)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            part, cut = self.cutter.take(chunk)
            yield part
            if cut:
                raise httpx.RemoteProtocolError("peer closed connection (cut by the test)")

    async def aclose(self) -> None:
        await self.inner.aclose()


class Dropping(httpx.HTTPTransport):
    """Records requests; cuts the first ``drops`` event streams after ``after`` events."""

    def __init__(self, drops: int = 0, after: int = 1, refuse_streams: bool = False) -> None:
        super().__init__()
        self.drops, self.after, self.refuse = drops, after, refuse_streams
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        streaming = request.url.path.endswith("/events")
        if streaming and self.refuse:
            raise httpx.ConnectError("refused by the test", request=request)
        response = super().handle_request(request)
        if not streaming or self.drops <= 0:
            return response
        self.drops -= 1
        assert isinstance(response.stream, httpx.SyncByteStream)
        stream = _CutStream(response.stream, self.after)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream)


class AsyncDropping(httpx.AsyncHTTPTransport):
    """The asyncio twin of :class:`Dropping`."""

    def __init__(self, drops: int, after: int = 1) -> None:
        super().__init__()
        self.drops, self.after = drops, after
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = await super().handle_async_request(request)
        if not request.url.path.endswith("/events") or self.drops <= 0:
            return response
        self.drops -= 1
        assert isinstance(response.stream, httpx.AsyncByteStream)
        stream = _AsyncCutStream(response.stream, self.after)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream)


def _resumed_from(requests: list[httpx.Request]) -> list[str | None]:
    return [r.headers.get("Last-Event-ID") for r in requests if r.url.path.endswith("/events")]


# --- the blocking client ------------------------------------------------------------


def test_sync_submit_get_wait_trace(server: LiveServer, sync_client: BatonClient) -> None:
    server.script("calc", ScriptedLLM(calculator_script))
    agent = server.agent("adder", "calc", tools=("calculator",))
    task = sync_client.submit("math", prompt="2+3?", agent_id=agent, priority=5)
    assert isinstance(task, Task) and task.status == "submitted" and task.priority == 5
    assert isinstance(task.created_at, datetime) and task.created_at.tzinfo is not None
    done = sync_client.wait(task.id, timeout=30)
    assert done.status == "completed" and done.terminal
    assert done.output == 'DONE: {"result": 5}'
    assert done.usage is not None
    assert isinstance(done.completed_at, datetime) and isinstance(done.started_at, datetime)
    assert sync_client.get(task.id) == done
    kinds = [entry["type"] for entry in sync_client.trace(task.id)]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("result")


def test_sync_list_walks_every_page(server: LiveServer) -> None:
    server.script("echo", ScriptedLLM(lambda m, t: "ok"))
    agent = server.agent("echoer", "echo")
    transport = Dropping()
    with BatonClient(server.url, ADMIN_KEY, transport=transport) as client:
        ids = [client.submit("math", prompt=f"n{i}", agent_id=agent).id for i in range(5)]
        listed = [t.id for t in client.list(limit=2)]
        pages = [r for r in transport.requests if r.url.path == "/api/agents/tasks"]
        assert listed == ids[::-1]  # newest first, every page, nothing twice
        assert sum(r.method == "GET" for r in pages) == 3
        for task_id in ids:
            client.wait(task_id, timeout=30)
        assert len(list(client.list(agent_id=agent, status="completed", limit=3))) == 5
        assert list(client.list(status="failed")) == []


def test_sync_cancel_a_running_task(server: LiveServer, sync_client: BatonClient) -> None:
    agent = server.hanging_agent()
    task = sync_client.submit("math", prompt="x", agent_id=agent)
    for event in sync_client.events(task.id):
        if event.status == "running":
            break
    sync_client.cancel(task.id)
    done = sync_client.wait(task.id, timeout=10)
    assert done.status == "cancelled" and done.cancel_requested
    assert sync_client.cancel(task.id).status == "cancelled"  # idempotent


def test_sync_events_resume_after_dropped_connections(
    server: LiveServer, sync_client: BatonClient
) -> None:
    server.script("calc", ScriptedLLM(calculator_script))
    agent = server.agent("adder", "calc", tools=("calculator",))
    task = sync_client.wait(sync_client.submit("math", prompt="x", agent_id=agent).id, 30)
    reference = list(sync_client.events(task.id))  # ends with the task
    assert [e.status for e in reference if e.type == "status"] == [
        "submitted",
        "running",
        "completed",
    ]
    assert len(reference) >= 4 and all(isinstance(e, Event) for e in reference)
    transport = Dropping(drops=2, after=1)
    with BatonClient(server.url, ADMIN_KEY, transport=transport) as client:
        resumed = list(client.events(task.id))
    assert resumed == reference  # nothing lost, nothing repeated, no half event
    ids = [str(e.id) for e in reference]
    assert _resumed_from(transport.requests) == [None, ids[0], ids[1]]
    later = list(sync_client.events(task.id, last_event_id=reference[-2].id))
    assert later == reference[-1:]


def test_sync_wait_polls_when_the_stream_fails(server: LiveServer) -> None:
    server.script("echo", ScriptedLLM(lambda m, t: "polled"))
    agent = server.agent("echoer", "echo")
    transport = Dropping(refuse_streams=True)
    with BatonClient(server.url, ADMIN_KEY, transport=transport) as client:
        task = client.submit("math", prompt="x", agent_id=agent)
        assert client.wait(task.id, timeout=30).output == "polled"
    assert len(_resumed_from(transport.requests)) == 6  # the stream was tried, then polling


def test_sync_errors(server: LiveServer, sync_client: BatonClient) -> None:
    with (
        BatonClient(server.url, "bk_wrong") as bad,
        pytest.raises(AuthenticationError) as unauthenticated,
    ):
        bad.get("anything")
    assert unauthenticated.value.status == 401
    assert unauthenticated.value.code == "unauthenticated"
    with pytest.raises(NotFoundError) as missing:
        sync_client.get("no-such-task")
    assert missing.value.status == 404 and missing.value.code == "not_found"
    with pytest.raises(NotFoundError):
        list(sync_client.events("no-such-task"))
    with pytest.raises(InvalidInputError) as invalid:
        sync_client.submit("math", prompt="x", agent_id="no-such-agent")
    assert invalid.value.status == 422
    assert any(d["field"] == "agent_id" for d in invalid.value.details)
    with pytest.raises(InvalidInputError):
        sync_client.submit("math", prompt="x", max_retries=99)
    with pytest.raises(ValueError, match="needs input"):
        sync_client.submit("math")
    with BatonClient("http://127.0.0.1:1", "k", timeout=2) as nowhere:
        with pytest.raises(BatonConnectionError, match="cannot reach Baton"):
            nowhere.get("x")
        with pytest.raises(BatonConnectionError):
            list(nowhere.events("x"))


def test_sync_permission_denied_for_a_viewer(server: LiveServer) -> None:
    tenants = httpx.get(f"{server.url}/api/tenants", headers=_auth(ADMIN_KEY)).json()
    tenant_id = next(t["id"] for t in tenants["items"] if t["name"] == "default")
    r = httpx.post(
        f"{server.url}/api/tenants/{tenant_id}/api-keys",
        json={"name": "viewer", "role": "viewer"},
        headers=_auth(ADMIN_KEY),
    )
    assert r.status_code == 201, r.text
    with BatonClient(server.url, r.json()["key"]) as viewer:
        assert list(viewer.list()) == []
        with pytest.raises(PermissionDeniedError) as denied:
            viewer.submit("math", prompt="x")
    assert denied.value.status == 403


# --- the asyncio client -------------------------------------------------------------


async def test_async_submit_wait_idempotency_and_trace(
    server: LiveServer, async_client: AsyncBatonClient
) -> None:
    server.script("calc", ScriptedLLM(calculator_script))
    agent = server.agent("adder", "calc", tools=("calculator",))
    messages = {"messages": [{"role": "user", "content": "2+3?"}]}
    first = await async_client.submit("math", messages, agent_id=agent, idempotency_key="k-1")
    again = await async_client.submit("math", messages, agent_id=agent, idempotency_key="k-1")
    assert again.id == first.id
    done = await async_client.wait(first.id, timeout=30)
    assert done.output == 'DONE: {"result": 5}'
    assert (await async_client.get(first.id)) == done
    assert [t.id async for t in async_client.list()] == [first.id]
    assert any(e["type"] == "result" for e in await async_client.trace(first.id))


async def test_async_list_cancel_and_wait_timeout(
    server: LiveServer, async_client: AsyncBatonClient
) -> None:
    agent = server.hanging_agent()
    tasks = [await async_client.submit("math", prompt=f"{i}", agent_id=agent) for i in range(3)]
    assert [t.id async for t in async_client.list(limit=1)] == [t.id for t in tasks[::-1]]
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.5"):
        await async_client.wait(tasks[0].id, timeout=0.5)
    assert time.monotonic() - started < 5
    for task in tasks:
        await async_client.cancel(task.id)
    for task in tasks:
        assert (await async_client.wait(task.id, timeout=10)).status == "cancelled"


async def test_async_events_resume_and_tenant_stream(
    server: LiveServer, async_client: AsyncBatonClient
) -> None:
    server.script("calc", ScriptedLLM(calculator_script))
    agent = server.agent("adder", "calc", tools=("calculator",))
    task = await async_client.submit("math", prompt="x", agent_id=agent)
    seen: list[Event] = []
    async for event in async_client.events():  # the tenant's stream never ends by itself
        seen.append(event)
        if event.terminal and event.task_id == task.id:
            break
    assert {e.task_id for e in seen} == {task.id}
    reference = [e async for e in async_client.events(task.id)]
    assert reference == seen
    transport = AsyncDropping(drops=1, after=2)
    async with AsyncBatonClient(server.url, ADMIN_KEY, transport=transport) as client:
        resumed = [e async for e in client.events(task.id)]
    assert resumed == reference
    ids = [str(e.id) for e in reference]
    assert _resumed_from(transport.requests) == [None, ids[1]]


async def test_async_errors(server: LiveServer) -> None:
    async with AsyncBatonClient(server.url, "bk_wrong") as bad:
        with pytest.raises(AuthenticationError):
            await bad.submit("math", prompt="x")
    async with AsyncBatonClient(server.url, ADMIN_KEY) as client:
        with pytest.raises(NotFoundError):
            await client.cancel("no-such-task")
        with pytest.raises(InvalidInputError):
            await client.submit("poetry", prompt="x")  # no agent serves it
    async with AsyncBatonClient("http://127.0.0.1:1", "k", timeout=2) as nowhere:
        with pytest.raises(BatonConnectionError):
            await nowhere.get("x")


# --- the pure parts ---------------------------------------------------------------


def test_sse_decoder_follows_the_event_stream_rules() -> None:
    decoder = SSEDecoder()
    lines = [
        ": keep-alive",
        "",
        "id: 7",
        "event: step",
        'data: {"a":',
        "data:1}",
        "",
        "data: plain",
        "data",
        "retry: 250",
        "",
        "id: 9",
        "",
        "id: 10",
        "event: status",
        "data: half",
    ]
    events = [e for line in lines if (e := decoder.feed(line)) is not None]
    assert events == [Event(7, "step", {"a": 1}), Event(7, "message", "plain\n")]
    assert decoder.retry_ms == 250 and decoder.last_event_id == "9"
    decoder.reset()  # the connection broke: the half event is dropped, the id kept
    assert decoder.feed("") is None and decoder.last_event_id == "9"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, InvalidInputError),
        (429, RateLimitError),
        (503, ServerError),
        (418, BatonAPIError),
    ],
)
def test_error_shape_maps_to_a_class(status: int, cls: type[BatonAPIError]) -> None:
    from baton.client._errors import api_error

    body = {"error": {"code": "c", "message": "m", "details": [{"field": "f"}]}}
    response = httpx.Response(status, json=body, headers={"Retry-After": "3"})
    exc = api_error(response)
    assert type(exc) is cls
    assert (exc.status, exc.code, exc.message, exc.details) == (status, "c", "m", [{"field": "f"}])
    if isinstance(exc, RateLimitError):
        assert exc.retry_after == 3.0
    html = api_error(httpx.Response(502, text="<h1>Bad gateway</h1>"))
    assert isinstance(html, ServerError) and html.code == "http_502"


def test_api_key_comes_from_the_argument_the_env_then_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BATON_API_KEY", raising=False)
    assert resolve_api_key(None) is None
    (tmp_path / "admin.key").write_text("bk_from_file\n")
    assert resolve_api_key(None) == "bk_from_file"
    monkeypatch.setenv("BATON_API_KEY", "bk_from_env")
    assert resolve_api_key(None) == "bk_from_env"
    assert resolve_api_key("bk_given") == "bk_given"


def test_task_parses_the_api_shape() -> None:
    data: dict[str, Any] = {
        "id": "t1",
        "agent_id": "a",
        "agent_version": 2,
        "task_type": "math",
        "input": {"prompt": "x"},
        "status": "completed",
        "priority": 0,
        "result": {"output": "5", "messages": [], "usage": {"total_tokens": 3}},
        "error": None,
        "retry_count": 0,
        "max_retries": 3,
        "cancel_requested": False,
        "created_at": "2025-01-02T03:04:05.123456Z",
        "started_at": "2025-01-02T03:04:06+00:00",
        "completed_at": None,
        "a_field_from_a_newer_server": True,
    }
    task = Task.from_json(data)
    assert task.output == "5" and task.usage == {"total_tokens": 3} and task.terminal
    assert task.created_at.year == 2025 and task.created_at.tzinfo is not None
    assert task.completed_at is None
