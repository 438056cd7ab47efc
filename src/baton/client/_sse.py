"""Server-sent events without I/O: a line decoder, and the reconnect/deadline state machine.

The sync and async clients feed lines in and do what the state machine says; all the
decisions (what to send on reconnect, how long to wait, when to give up, when the stream
is over) live here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from baton.client._common import events_path
from baton.client._errors import (
    BatonConnectionError,
    ServerError,
    api_error,
    connection_error,
)
from baton.client._models import Event

#: The server sends a keep-alive every 15 s; this much silence means the connection is dead.
STREAM_READ_TIMEOUT = 45.0
#: Failures in a row (without an event in between) before giving up on a stream.
MAX_RECONNECTS = 5
#: What a dropped stream reconnects after: the first wait, doubled each time up to the cap.
RECONNECT_DELAY = 0.1
MAX_RECONNECT_DELAY = 5.0

#: What a stream driver catches and hands to :meth:`EventStream.dropped`.
RETRYABLE: tuple[type[Exception], ...] = (httpx.TransportError, ServerError)


class SSEDecoder:
    """Turns the lines of a ``text/event-stream`` into events (the WHATWG rules).

    An ``id:`` line only takes effect when its event is complete (the blank line), so a
    connection that breaks mid-event resumes before that event, not after it.

    Attributes:
        last_event_id: The id of the last complete event (what a reconnect resumes after).
        retry_ms: The reconnect delay the server asked for with ``retry:``, if any.
    """

    def __init__(self, last_event_id: str | None = None) -> None:
        self.last_event_id = last_event_id
        self.retry_ms: int | None = None
        self._id = last_event_id
        self._data: list[str] = []
        self._type = ""

    def reset(self) -> None:
        """Drop a half-received event (after a broken connection); keep the last id."""
        self._id = self.last_event_id
        self._data = []
        self._type = ""

    def feed(self, line: str) -> Event | None:
        """Take one line (without its line ending); return an event when one is complete."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment, e.g. the server's keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Event | None:
        self.last_event_id = self._id
        data, kind = self._data, self._type or "message"
        self.reset()
        if not data:
            return None
        text = "\n".join(data)
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = text
        ident = self.last_event_id
        return Event(int(ident) if ident and ident.isdigit() else None, kind, decoded)


class EventStream:
    """One logical event stream over as many connections as it takes.

    Args:
        task_id: Follow one task (the stream ends with the task), or ``None`` for the tenant.
        last_event_id: Resume after this event id.
        deadline: A ``time.monotonic()`` instant after which to raise ``TimeoutError``.
        clock: The monotonic clock (tests may pass a fake).
    """

    def __init__(
        self,
        task_id: str | None = None,
        last_event_id: int | str | None = None,
        *,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.task_id = task_id
        self.path = events_path(task_id)
        self.decoder = SSEDecoder(None if last_event_id is None else str(last_event_id))
        self.deadline = deadline
        self._clock = clock
        self._failures = 0

    def headers(self) -> dict[str, str]:
        """Headers of the next connection: ``Last-Event-ID`` once there is one."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.decoder.last_event_id:
            headers["Last-Event-ID"] = self.decoder.last_event_id
        return headers

    def timeout(self, connect: float) -> httpx.Timeout:
        """The next connection's timeouts: reads wait for keep-alives, never past the deadline."""
        read = STREAM_READ_TIMEOUT
        if self.deadline is not None:
            read = max(0.01, min(read, self.deadline - self._clock()))
        return httpx.Timeout(connect, read=read)

    def check(self, response: httpx.Response) -> None:
        """Raise for an error answer (its body read); a 5xx is retryable (``ServerError``)."""
        if response.status_code >= 400:
            raise api_error(response)

    def feed(self, line: str) -> Event | None:
        """Decode one line; raise ``TimeoutError`` once past the deadline."""
        event = self.decoder.feed(line)
        if event is not None:
            self._failures = 0
        self._check_deadline()
        return event

    def dropped(self, exc: Exception, url: object) -> float:
        """The connection failed: how long to wait before resuming.

        Raises:
            TimeoutError: When past the deadline.
            BatonConnectionError: After ``MAX_RECONNECTS`` failures in a row.
            ServerError: The last server error, when those were the failures.
        """
        self.decoder.reset()
        self._check_deadline()
        self._failures += 1
        if self._failures > MAX_RECONNECTS:
            if isinstance(exc, httpx.TransportError):
                raise connection_error(url, exc) from exc
            raise exc
        return self._delay()

    def ended(self) -> float | None:
        """The server closed the stream cleanly: ``None`` if it is over, else the resume delay.

        A task's stream ends when the task is terminal; the tenant's stream only ends when
        the server goes away, so it is resumed.
        """
        self.decoder.reset()
        if self.task_id is not None:
            return None
        self._check_deadline()
        self._failures += 1
        if self._failures > MAX_RECONNECTS:
            raise BatonConnectionError("the event stream keeps closing; giving up")
        return self._delay()

    def _delay(self) -> float:
        if self.decoder.retry_ms is not None:
            delay = self.decoder.retry_ms / 1000
        else:
            delay = min(MAX_RECONNECT_DELAY, RECONNECT_DELAY * 2 ** (self._failures - 1))
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - self._clock()))
        return delay

    def _check_deadline(self) -> None:
        if self.deadline is not None and self._clock() >= self.deadline:
            raise TimeoutError("timed out waiting for the task")


class Waiter:
    """Deadline and polling pace for ``wait``.

    Args:
        task_id: The task waited for (named in the timeout message).
        timeout: Seconds to wait at most; ``None`` waits for ever.
        clock: The monotonic clock.
    """

    def __init__(
        self, task_id: str, timeout: float | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.task_id = task_id
        self.timeout = timeout
        self._clock = clock
        self.deadline = None if timeout is None else clock() + timeout
        self._interval = 0.1

    def stream(self) -> EventStream:
        """The task's event stream, bounded by the deadline."""
        return EventStream(self.task_id, deadline=self.deadline, clock=self._clock)

    def expired(self) -> TimeoutError:
        """The error to raise when the deadline passed."""
        return TimeoutError(f"task {self.task_id} did not finish within {self.timeout} s")

    def next_poll(self) -> float:
        """Seconds to sleep before the next poll (growing to 2 s); raises when out of time."""
        delay, self._interval = self._interval, min(2.0, self._interval * 1.5)
        if self.deadline is not None:
            left = self.deadline - self._clock()
            if left <= 0:
                raise self.expired()
            delay = min(delay, left)
        return delay
