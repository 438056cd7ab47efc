"""Wake-ups between the parts of Baton: new work, cancellations, new events.

In one process an asyncio notification is enough (SQLite). With PostgreSQL many
processes share the queue, so the changes are also sent with ``NOTIFY`` inside the
transaction that made them (delivered on commit) and every process ``LISTEN``s, turning
notifications back into local signals. Nothing depends on a signal arriving: workers and
streams also poll, so a lost notification only costs latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, text

log = logging.getLogger(__name__)

CHANNEL = "baton_queue"
TASK_AVAILABLE = "available"
CANCEL = "cancel"
EVENTS = "events"


_MAX_TENANTS_VALUE = 7000  # NOTIFY payloads stop at 8000 bytes; past it, wake everyone


def tenants_value(tenant_ids: Iterable[str]) -> str:
    """The value of an ``EVENTS`` signal for these tenants ('' wakes every tenant)."""
    value = ",".join(sorted(set(tenant_ids)))
    return "" if len(value) > _MAX_TENANTS_VALUE else value


class Signals:
    """Local fan-out of queue signals to whoever waits in this process.

    Event signals name the tenants whose streams have news, so a tenant's streams wake
    only for their own tenant's events (an empty value wakes every stream).
    """

    def __init__(self) -> None:
        self._available = asyncio.Event()
        self._events = asyncio.Event()
        self._events_seen = 0
        self._broadcasts = 0
        self._tenant_seen: dict[str, int] = {}
        self._tenant_events: dict[str, asyncio.Event] = {}
        self._cancel_handlers: list[Callable[[str], None]] = []

    @property
    def events_count(self) -> int:
        """How many event signals came so far.

        Read it before reading events, then pass it to ``wait_events``, so a signal
        that came in between is not missed.
        """
        return self._events_seen

    def events_count_for(self, tenant: str) -> int:
        """How many event signals so far concerned ``tenant`` (``events_count`` for one)."""
        return self._tenant_seen.get(tenant, 0) + self._broadcasts

    def on_cancel(self, handler: Callable[[str], None]) -> None:
        """Call ``handler(task_id)`` when a task's cancellation is requested."""
        self._cancel_handlers.append(handler)

    def dispatch(self, kind: str, value: str = "") -> None:
        """Deliver one signal in this process."""
        if kind == TASK_AVAILABLE:
            self._available.set()
        elif kind == CANCEL:
            for handler in list(self._cancel_handlers):
                handler(value)
            self._wake_streams("")
        elif kind == EVENTS:
            self._wake_streams(value)

    def _wake_streams(self, tenants: str) -> None:
        self._events_seen += 1
        self._events.set()
        if not tenants:
            self._broadcasts += 1
            woken = list(self._tenant_events.values())
        else:
            woken = []
            for tenant in tenants.split(","):
                self._tenant_seen[tenant] = self._tenant_seen.get(tenant, 0) + 1
                if (event := self._tenant_events.get(tenant)) is not None:
                    woken.append(event)
        for event in woken:
            event.set()

    async def wait_available(self, at_most: float) -> None:
        """Wait until work may be available, ``at_most`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._available.wait(), at_most)
        self._available.clear()

    async def wait_events(
        self, at_most: float, since: int | None = None, tenant: str | None = None
    ) -> None:
        """Wait until new events may exist (of ``tenant`` when given), ``at_most`` seconds.

        With ``since`` (an earlier ``events_count``, or ``events_count_for(tenant)``) it
        returns at once when a signal came after that count was read, even if another
        waiter has already woken on it.
        """
        count = self._events_seen if tenant is None else self.events_count_for(tenant)
        if since is not None and since != count:
            return
        if tenant is None:
            event = self._events
        else:
            event = self._tenant_events.setdefault(tenant, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), at_most)
        # Every waiter must see the wake-up: swap in a fresh event instead of clearing.
        if event.is_set():
            if tenant is None and self._events is event:
                self._events = asyncio.Event()
            elif tenant is not None and self._tenant_events.get(tenant) is event:
                self._tenant_events[tenant] = asyncio.Event()


def notify_in(conn: Connection, kind: str, value: str = "") -> None:
    """On PostgreSQL, send a signal to every process when ``conn``'s transaction commits."""
    if conn.dialect.name == "postgresql":
        payload = json.dumps([kind, value])
        conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )


class PostgresListener:
    """Receives NOTIFYs on a dedicated connection and dispatches them as local signals."""

    def __init__(self, conninfo: str, signals: Signals) -> None:
        self._conninfo = conninfo
        self._signals = signals
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Listen in the background, reconnecting after failures."""
        self._task = asyncio.create_task(self._run(), name="baton-pg-listener")

    async def _run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # Anything that happened while we were not listening: wake everyone.
                    self._signals.dispatch(TASK_AVAILABLE)
                    self._signals.dispatch(EVENTS)
                    async for note in conn.notifies():
                        self._deliver(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("queue listener lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(1.0)

    def _deliver(self, payload: str) -> None:
        try:
            kind, value = json.loads(payload)
        except (ValueError, TypeError):
            return
        self._signals.dispatch(str(kind), str(value))

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq connection string."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
