"""A fake OpenAI-compatible LLM server for the benchmarks (see shared/BENCH.md).

`POST /v1/chat/completions` answers like OpenAI (JSON, or SSE when `"stream": true`)
after a configurable latency (an asyncio sleep: it never blocks other requests). The reply
is scripted by the conversation:

- the last message is a tool result -> the final answer `"DONE: <tool result content>"`
  (several trailing tool results -> their contents joined with `"; "`);
- a user message holds lines `CALL <tool> <json-args>` and no tool result has come yet ->
  an assistant message calling those tools (one call per line, so several lines are
  parallel calls), with ids `call_<n>`;
- otherwise -> `"ECHO: <last user message>"`.

It is a minimal asyncio HTTP/1.1 server (keep-alive, no framework, standard library only)
so that it can run under any interpreter, and `start_fake_llm` runs it in a separate
process so it never shares a GIL with the system under test. A request header
`X-Fake-Latency-Ms` overrides the latency for that request.

Script: `python bench/fakellm.py --port 8765 --latency-ms 500` (or `python -m bench.fakellm`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

READY_PREFIX = "FAKELLM LISTENING "
_MAX_HEADER = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


# --------------------------------------------------------------------------- scripting


def _text(content: Any) -> str:
    """The text of a message content: a string, or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return str(content)


def parse_calls(text: str) -> list[tuple[str, str]]:
    """The `CALL <tool> <json-args>` lines of a message: (tool, arguments JSON) pairs."""
    calls = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("CALL "):
            continue
        rest = stripped[5:].strip()
        name, _, args = rest.partition(" ")
        if not name:
            continue
        args = args.strip() or "{}"
        json.loads(args)  # a malformed script is a bug in the benchmark: fail loudly
        calls.append((name, args))
    return calls


def script_reply(messages: list[dict[str, Any]], next_id: Callable[[], int]) -> dict[str, Any]:
    """The assistant message that the script gives for a conversation.

    Returns `{"role": "assistant", "content": ..., "tool_calls": [...] or absent}`.
    """
    if messages and messages[-1].get("role") == "tool":
        results = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            results.append(_text(message.get("content")))
        return {"role": "assistant", "content": "DONE: " + "; ".join(reversed(results))}
    tool_result_seen = any(m.get("role") == "tool" for m in messages)
    users = [m for m in messages if m.get("role") == "user"]
    if not tool_result_seen:
        for message in reversed(users):
            calls = parse_calls(_text(message.get("content")))
            if calls:
                return {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": f"call_{next_id()}",
                            "type": "function",
                            "function": {"name": name, "arguments": args},
                        }
                        for name, args in calls
                    ],
                }
    last_user = _text(users[-1].get("content")) if users else ""
    return {"role": "assistant", "content": f"ECHO: {last_user}"}


def _usage(reply: dict[str, Any]) -> dict[str, int]:
    completion = max(1, len(json.dumps(reply)) // 4)
    return {"prompt_tokens": 10, "completion_tokens": completion, "total_tokens": 10 + completion}


def completion_body(request: dict[str, Any], reply: dict[str, Any], serial: int) -> bytes:
    """A non-streaming chat.completion JSON body."""
    finish = "tool_calls" if reply.get("tool_calls") else "stop"
    body = {
        "id": f"chatcmpl-fake{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model") or "fake",
        "choices": [{"index": 0, "message": reply, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(reply),
    }
    return json.dumps(body, separators=(",", ":")).encode()


def stream_events(request: dict[str, Any], reply: dict[str, Any], serial: int) -> bytes:
    """The SSE body of a streamed chat.completion.chunk sequence, `[DONE]` included."""
    base = {
        "id": f"chatcmpl-fake{serial}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model") or "fake",
    }
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    chunks: list[dict[str, Any]] = []

    def chunk(delta: dict[str, Any], finish: str | None) -> None:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        chunks.append({**base, "choices": [choice]})

    tool_calls = reply.get("tool_calls")
    if tool_calls:
        chunk({"role": "assistant", "content": None}, None)
        for index, call in enumerate(tool_calls):
            chunk({"tool_calls": [{"index": index, **call}]}, None)
        chunk({}, "tool_calls")
    else:
        chunk({"role": "assistant", "content": ""}, None)
        content = reply["content"]
        # Two content deltas, so that clients really assemble a stream.
        middle = len(content) // 2
        for piece in (content[:middle], content[middle:]):
            if piece:
                chunk({"content": piece}, None)
        chunk({}, "stop")
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _usage(reply)})
    out = b"".join(
        b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks
    )
    return out + b"data: [DONE]\n\n"


# --------------------------------------------------------------------------- HTTP server

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


class _Server:
    def __init__(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self.requests = 0
        self._ids = itertools.count()

    def next_id(self) -> int:
        return next(self._ids)


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; requests are answered in order."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy = False  # a delayed answer is pending: later requests wait

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        while self.transport is not None and not self.busy:
            request = self._next_request()
            if request is None:
                return
            method, path, headers, body = request
            self.server.requests += 1
            keep_alive = headers.get("connection", "").lower() != "close"
            latency = self.server.latency_ms
            override = headers.get("x-fake-latency-ms")
            if override:
                latency = float(override)
            status, ctype, payload = self._answer(method, path, body)
            if latency > 0:
                self.busy = True
                asyncio.get_running_loop().call_later(
                    latency / 1000, self._send_later, status, ctype, payload, keep_alive
                )
                return
            self._send(status, ctype, payload, keep_alive)

    def _send_later(self, status: int, ctype: str, payload: bytes, keep_alive: bool) -> None:
        self.busy = False
        self._send(status, ctype, payload, keep_alive)
        self._process()

    def _next_request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > _MAX_HEADER:
                self._fail()
            return None
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        try:
            method, path, _version = head[0].split(" ", 2)
        except ValueError:
            self._fail()
            return None
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parsed = self._dechunk(start)
            if parsed is None:
                return None
            body, consumed = parsed
            del self.buffer[:consumed]
            return method, path, headers, body
        length = int(headers.get("content-length", "0") or 0)
        if length > _MAX_BODY:
            self._fail()
            return None
        if len(self.buffer) < start + length:
            return None
        body = bytes(self.buffer[start : start + length])
        del self.buffer[: start + length]
        return method, path, headers, body

    def _dechunk(self, pos: int) -> tuple[bytes, int] | None:
        body = bytearray()
        while True:
            eol = self.buffer.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(self.buffer[pos:eol]).split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                trailer_end = self.buffer.find(b"\r\n", pos)
                if trailer_end < 0:
                    return None
                return bytes(body), trailer_end + 2
            if len(self.buffer) < pos + size + 2:
                return None
            body += self.buffer[pos : pos + size]
            pos += size + 2

    def _answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        path = path.split("?", 1)[0]
        if path.rstrip("/").endswith("/models") and method == "GET":
            models = {"object": "list", "data": [{"id": "fake", "object": "model"}]}
            return 200, "application/json", json.dumps(models).encode()
        if not path.rstrip("/").endswith("/chat/completions"):
            return 404, "application/json", b'{"error":{"message":"not found"}}'
        if method != "POST":
            return 405, "application/json", b'{"error":{"message":"POST only"}}'
        try:
            request = json.loads(body)
            messages = request["messages"]
            reply = script_reply(messages, self.server.next_id)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            error = {"error": {"message": f"bad request: {exc}", "type": "invalid_request"}}
            return 400, "application/json", json.dumps(error).encode()
        serial = self.server.requests
        if request.get("stream"):
            return 200, "text/event-stream", stream_events(request, reply, serial)
        return 200, "application/json", completion_body(request, reply, serial)

    def _send(self, status: int, ctype: str, payload: bytes, keep_alive: bool) -> None:
        if self.transport is None:
            return
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"content-type: {ctype}\r\ncontent-length: {len(payload)}\r\n"
            f"connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        self.transport.write(head.encode() + payload)
        if not keep_alive:
            self.transport.close()
            self.transport = None

    def _fail(self) -> None:
        self._send(400, "application/json", b'{"error":{"message":"bad HTTP"}}', False)


async def serve(host: str, port: int, latency_ms: float, ready: Callable[[str], None]) -> None:
    """Serve until cancelled (or SIGTERM/SIGINT when run as a script)."""
    state = _Server(latency_ms)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(state), host, port, backlog=4096)
    bound = server.sockets[0].getsockname()
    ready(f"http://{bound[0]}:{bound[1]}/v1")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


# --------------------------------------------------------------------------- process API


def start_fake_llm(
    latency_ms: float = 0, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, Callable[[], None]]:
    """Start the server in its own process; return (base_url ending in /v1, stop)."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--host",
        host,
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 15
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            break
        if proc.poll() is not None:
            break
    if not line.startswith(READY_PREFIX):
        proc.kill()
        raise RuntimeError(f"fake LLM server did not start (got {line!r})")
    base_url = line[len(READY_PREFIX) :].strip()

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    return base_url, stop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)

    def ready(url: str) -> None:
        print(READY_PREFIX + url, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.latency_ms, ready))
    os._exit(0)


if __name__ == "__main__":
    main()
