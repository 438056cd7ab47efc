"""A minimal HTTP/1.1 keep-alive client for load generation.

httpx spends ~5 ms of CPU per request here: at 200 requests/s on two cores the load
generator would take the CPU the server is being measured on. This client writes
prebuilt requests on a pool of kept-alive connections and reads ``Content-Length``
bodies: a few hundred microseconds per request, like wrk would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class RawHttp:
    """JSON requests over a pool of keep-alive connections to one server."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self._host, self._port = host, int(port or 80)
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: list[Conn] = []

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; (status, decoded JSON body).

        A pooled connection the server closed meanwhile (its keep-alive timeout) is
        dropped and the request goes again, as any HTTP client does.
        """
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\n{self._headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        while True:
            fresh = not self._idle
            if fresh:
                reader, writer = await asyncio.open_connection(self._host, self._port)
            else:
                reader, writer = self._idle.pop()
            try:
                writer.write(head + data)
                status, payload = await self._response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if fresh:
                    raise
                continue
            self._idle.append((reader, writer))
            return status, payload

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, Any]:
        """Read one response: a ``Content-Length`` body or a chunked one (an SSE stream
        read to its end); JSON is decoded, anything else returned as text."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if fields.get(b"transfer-encoding") == b"chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            raw = b"".join(chunks)
        else:
            length = int(fields.get(b"content-length", b"0"))
            raw = await reader.readexactly(length) if length else b""
        if not raw:
            return status, None
        if fields.get(b"content-type", b"").startswith(b"application/json"):
            return status, json.loads(raw)
        return status, raw.decode()

    async def aclose(self) -> None:
        """Close every pooled connection."""
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
