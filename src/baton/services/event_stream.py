"""Live task events as Server-Sent Events: what a stream sends, and when it ends.

A stream reads events after its position, sends them, and waits for the next wake-up
(or ``keepalive_s``). At every keep-alive it checks its API key again, so a revoked key's
streams end within one keep-alive (plus the read cache when revoked through another
process). A stream also ends after ``max_lifetime_s`` (clients reconnect with
``Last-Event-ID`` and miss nothing), and one key holds at most ``max_per_key`` streams
at once in this process.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from baton.domain.errors import BatonError, InvalidInput, RateLimited
from baton.domain.tasks import TaskStatus
from baton.domain.tenancy import Principal
from baton.services.tasks import TaskService
from baton.services.tenancy import TenancyService

__all__ = ["EventStreams", "StreamLimits", "resume_position"]

EVENTS_PAGE = 500
_FINAL = {s.value for s in TaskStatus if s.terminal}

Disconnected = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class _Stream:
    caller: Principal
    secret: str | None
    after: int
    task_id: str | None
    disconnected: Disconnected


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How long streams live and how many one key may hold."""

    keepalive_s: float = 15.0
    max_lifetime_s: float = 3600.0
    max_per_key: int = 8


def resume_position(header: str | None, query: int | None) -> int:
    """The event id a stream resumes after: ``Last-Event-ID`` or ``?after=``, else 0."""
    value = header if header is not None else query
    if value is None:
        return 0
    text = str(value).strip()
    # isdigit() alone accepts digits like '²' that int() refuses.
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise InvalidInput("Last-Event-ID must be an event id (a number)")
    return int(text)


def _final(kind: str, data: dict[str, Any]) -> bool:
    """True for the status event that ends a task (nothing of that task follows it)."""
    return kind == "status" and data.get("status") in _FINAL


def _frame(kind: str, body: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(body, default=str)}\n\n"


class EventStreams:
    """Opens SSE streams of one task's or a whole tenant's events."""

    def __init__(
        self, tasks: TaskService, tenancy: TenancyService, limits: StreamLimits | None = None
    ) -> None:
        """Stream ``tasks``' events; re-check keys with ``tenancy``."""
        self._tasks = tasks
        self._tenancy = tenancy
        self._limits = limits or StreamLimits()
        self._open: Counter[str] = Counter()

    async def open(
        self,
        caller: Principal,
        secret: str | None,
        after: int,
        task_id: str | None,
        disconnected: Disconnected,
    ) -> AsyncIterator[str]:
        """Check the request and return the stream's frames.

        Raises:
            NotFound: When ``task_id`` names no task of the caller's tenant.
            RateLimited: When the key already holds ``max_per_key`` streams.
        """
        if task_id is not None:
            await self._tasks.get(caller, task_id)
        self._check_room(caller)
        return self._frames(_Stream(caller, secret, after, task_id, disconnected))

    @property
    def open_count(self) -> int:
        """Streams running now in this process, all keys together."""
        return sum(self._open.values())

    def _check_room(self, caller: Principal) -> None:
        if self._open[caller.key_id] >= self._limits.max_per_key:
            raise RateLimited(
                f"this key already holds {self._limits.max_per_key} event streams",
                self._limits.keepalive_s,
            )

    async def _frames(self, stream: _Stream) -> AsyncIterator[str]:
        # Counted once the stream runs: a response never started holds no slot.
        key = stream.caller.key_id
        self._open[key] += 1
        try:
            async for frame in self._run(stream):
                yield frame
        finally:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]

    async def _run(self, stream: _Stream) -> AsyncIterator[str]:
        caller, after, task_id = stream.caller, stream.after, stream.task_id
        signals = self._tasks.queue.signals
        ends_at = time.monotonic() + self._limits.max_lifetime_s
        while True:
            seen = signals.events_count_for(caller.tenant_id)
            events = await self._tasks.events(caller, after, task_id, limit=EVENTS_PAGE)
            ended = False
            for event in events:
                after = event.id
                body = {"task_id": event.task_id, "type": event.type, **event.data}
                body["at"] = event.created_at.isoformat()
                yield _frame(event.type, body, event.id)
                ended = ended or (task_id is not None and _final(event.type, event.data))
            if ended:
                return  # a task's final status is its last event: the stream is complete
            if len(events) == EVENTS_PAGE:
                continue  # more are waiting
            if task_id is not None and not events:
                task = await self._tasks.queue.get(caller.tenant_id, task_id)
                if task is None or task.status.terminal:
                    # Everything up to the end has been sent: the stream is complete.
                    if not await self._tasks.events(caller, after, task_id):
                        return
                    continue
            if await stream.disconnected():
                return
            await signals.wait_events(self._limits.keepalive_s, since=seen, tenant=caller.tenant_id)
            try:
                await self._tenancy.authenticate(stream.secret)
            except BatonError as exc:
                yield _frame("error", {"code": exc.code, "message": exc.message})
                return
            if time.monotonic() >= ends_at:
                # EventSource clients reconnect with Last-Event-ID and miss nothing.
                yield _frame("reconnect", {"after": after})
                return
            yield ": keep-alive\n\n"
