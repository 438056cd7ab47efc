"""Fake LLM HTTP servers on 127.0.0.1 speaking the OpenAI and Anthropic protocols.

A ``ScriptedServer`` answers each request with the next scripted ``Reply`` (JSON, or an SSE
stream sent with chunked encoding so that a dropped connection is detectable) and records
what it received. ``OpenAIWire`` and ``AnthropicWire`` render one protocol-neutral
``Turn`` into that protocol's JSON body or SSE events, written here by hand from the
protocols' documentation, independently of the code under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    json: Any = None
    events: list[tuple[str | None, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    disconnect_after: int | None = None


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests"}


class ScriptedServer:
    """An HTTP/1.1 server that plays back scripted replies."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def start(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> ScriptedServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else None
        self.requests.append(Request(method, path, headers, body))
        refusal = _refuse_bad_tool_names(path, body)
        reply = refusal or (self.replies.popleft() if self.replies else _unscripted())
        if reply.delay:
            await asyncio.sleep(reply.delay)
        status_line = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        extra = "".join(f"{key}: {value}\r\n" for key, value in reply.headers.items())
        if reply.events is None:
            payload = json.dumps(reply.json).encode()
            writer.write(
                (
                    f"{status_line}content-type: application/json\r\n{extra}"
                    f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
                ).encode()
                + payload
            )
            await writer.drain()
            return
        writer.write(
            (
                f"{status_line}content-type: text/event-stream\r\n{extra}"
                "transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            ).encode()
        )
        for number, (event, data) in enumerate(reply.events):
            if reply.disconnect_after is not None and number >= reply.disconnect_after:
                await writer.drain()
                writer.transport.abort()
                return
            text = (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
            chunk = text.encode()
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _tool_names(path: str, body: Any) -> list[str]:
    """Every tool name in a request, where each protocol puts them."""
    if not isinstance(body, dict):
        return []
    if path.endswith("/messages"):  # Anthropic
        names = [t.get("name", "") for t in body.get("tools", [])]
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                names += [b.get("name", "") for b in content if b.get("type") == "tool_use"]
        return names
    names = [t["function"].get("name", "") for t in body.get("tools", [])]
    for message in body.get("messages", []):
        names += [c["function"].get("name", "") for c in message.get("tool_calls") or []]
    return names


def _refuse_bad_tool_names(path: str, body: Any) -> Reply | None:
    """400 for a tool name outside ``^[a-zA-Z0-9_-]{1,64}$``, as OpenAI and Anthropic answer."""
    bad = [n for n in _tool_names(path, body) if not _TOOL_NAME.match(n)]
    if not bad:
        return None
    message = f"tool name {bad[0]!r}: string should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
    if path.endswith("/messages"):
        error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        return Reply(status=400, json=error)
    error = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return Reply(status=400, json=error)


def _unscripted() -> Reply:
    return Reply(status=500, json={"error": {"message": "no scripted reply", "type": "test"}})


@dataclass
class CallSpec:
    """A tool call the fake model makes; ``fragments`` split its raw arguments in a stream."""

    name: str
    arguments: str = "{}"
    id: str | None = "call_1"
    fragments: list[str] | None = None

    def pieces(self) -> list[str]:
        return self.fragments if self.fragments is not None else [self.arguments]


@dataclass
class Turn:
    """What the fake model answers, protocol-neutral."""

    text: str | None = None
    calls: list[CallSpec] = field(default_factory=list)
    input_tokens: int = 11
    output_tokens: int = 7
    cached_tokens: int = 0
    model: str = "test-model"


class Wire(Protocol):
    """Renders Turns and errors in one protocol."""

    def json(self, turn: Turn) -> Reply: ...

    def sse(self, turn: Turn) -> Reply: ...

    def error(
        self, status: int, kind: str, message: str, code: str | None = None, **headers: str
    ) -> Reply: ...


class OpenAIWire:
    """The chat-completions protocol."""

    def _usage(self, turn: Turn) -> dict[str, Any]:
        return {
            "prompt_tokens": turn.input_tokens,
            "completion_tokens": turn.output_tokens,
            "total_tokens": turn.input_tokens + turn.output_tokens,
            "prompt_tokens_details": {"cached_tokens": turn.cached_tokens},
        }

    def json(self, turn: Turn) -> Reply:
        message: dict[str, Any] = {"role": "assistant", "content": turn.text}
        if turn.calls:
            message["tool_calls"] = [
                {
                    **({"id": call.id} if call.id else {}),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in turn.calls
            ]
        return Reply(
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": turn.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if turn.calls else "stop",
                    }
                ],
                "usage": self._usage(turn),
            }
        )

    def chunk(self, delta: dict[str, Any], finish: str | None = None, model: str = "m") -> str:
        return json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    def sse(self, turn: Turn) -> Reply:
        chunks = [self.chunk({"role": "assistant", "content": ""}, model=turn.model)]
        if turn.text:
            middle = len(turn.text) // 2
            for piece in (turn.text[:middle], turn.text[middle:]):
                chunks.append(self.chunk({"content": piece}, model=turn.model))
        for index, call in enumerate(turn.calls):
            head: dict[str, Any] = {
                "index": index,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if call.id:
                head["id"] = call.id
            chunks.append(self.chunk({"tool_calls": [head]}, model=turn.model))
            for piece in call.pieces():
                delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                chunks.append(self.chunk(delta, model=turn.model))
        finish = "tool_calls" if turn.calls else "stop"
        chunks.append(self.chunk({}, finish, model=turn.model))
        usage = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": turn.model,
            "choices": [],
            "usage": self._usage(turn),
        }
        chunks.append(json.dumps(usage))
        return Reply(events=[(None, chunk) for chunk in [*chunks, "[DONE]"]])

    def error(
        self, status: int, kind: str, message: str, code: str | None = None, **headers: str
    ) -> Reply:
        body = {"error": {"message": message, "type": kind, "code": code, "param": None}}
        return Reply(
            status=status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )


class AnthropicWire:
    """The messages protocol."""

    def _usage(self, turn: Turn) -> dict[str, Any]:
        return {
            "input_tokens": turn.input_tokens - turn.cached_tokens,
            "output_tokens": turn.output_tokens,
            "cache_read_input_tokens": turn.cached_tokens,
            "cache_creation_input_tokens": 0,
        }

    def json(self, turn: Turn) -> Reply:
        content: list[dict[str, Any]] = []
        if turn.text:
            content.append({"type": "text", "text": turn.text})
        for call in turn.calls:
            block: dict[str, Any] = {
                "type": "tool_use",
                "name": call.name,
                "input": json.loads(call.arguments or "{}"),
            }
            if call.id:
                block["id"] = call.id
            content.append(block)
        return Reply(
            json={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": turn.model,
                "content": content,
                "stop_reason": "tool_use" if turn.calls else "end_turn",
                "stop_sequence": None,
                "usage": self._usage(turn),
            }
        )

    def sse(self, turn: Turn) -> Reply:
        events: list[tuple[str | None, dict[str, Any]]] = []
        start_usage = {**self._usage(turn), "output_tokens": 1}
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": turn.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        events.append(("message_start", {"type": "message_start", "message": message}))
        index = 0
        if turn.text:
            block = {"type": "text", "text": ""}
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": block},
                )
            )
            middle = len(turn.text) // 2
            for piece in (turn.text[:middle], turn.text[middle:]):
                delta = {"type": "text_delta", "text": piece}
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
        for call in turn.calls:
            block = {"type": "tool_use", "name": call.name, "input": {}}
            if call.id:
                block["id"] = call.id
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": block},
                )
            )
            for piece in call.pieces():
                delta = {"type": "input_json_delta", "partial_json": piece}
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
        stop = "tool_use" if turn.calls else "end_turn"
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": turn.output_tokens},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return Reply(events=[(name, json.dumps(data)) for name, data in events])

    def error(
        self, status: int, kind: str, message: str, code: str | None = None, **headers: str
    ) -> Reply:
        body = {"type": "error", "error": {"type": code or kind, "message": message}}
        return Reply(
            status=status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )
