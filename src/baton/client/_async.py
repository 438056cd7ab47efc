"""The asyncio client: the same calls and stream logic as the blocking one."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from baton.client import _common as calls
from baton.client._common import DEFAULT_URL, Call
from baton.client._errors import BatonConnectionError, ServerError, connection_error
from baton.client._models import Event, Task
from baton.client._sse import RETRYABLE, EventStream, Waiter

T = TypeVar("T")


class AsyncBatonClient:
    """An asyncio client for Baton's task API, with the methods of ``BatonClient``.

    Args:
        base_url: Where Baton listens.
        api_key: The API key; defaults to ``$BATON_API_KEY``, then ``$BATON_DATA_DIR/admin.key``.
        timeout: Seconds for connecting and for each request (streams wait longer for reads).
        transport: An httpx transport to use instead of the network (for tests, proxies).

    Example:
        >>> async with AsyncBatonClient() as baton:  # doctest: +SKIP
        ...     task = await baton.submit("math", prompt="2+3?", agent_id="ag_...")
        ...     print((await baton.wait(task.id, timeout=60)).output)
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            **calls.client_options(base_url, api_key, timeout, transport)
        )

    async def __aenter__(self) -> AsyncBatonClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        request = call.request(self._http)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise connection_error(request.url, exc) from exc
        return call.result(response)

    async def submit(
        self,
        task_type: str,
        input: dict[str, Any] | None = None,
        *,
        prompt: str | None = None,
        agent_id: str | None = None,
        priority: int = 0,
        max_retries: int | None = None,
        timeout_s: float | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Queue an agent task.

        Args:
            task_type: The task's type; without ``agent_id`` it picks an agent.
            input: ``{"prompt": ...}`` or ``{"messages": [...]}``, plus any extras.
            prompt: A shortcut for ``input={"prompt": prompt}``.
            agent_id: The agent to run it.
            priority: Higher runs first.
            max_retries: Retries allowed (the server's default when ``None``).
            timeout_s: The task's time limit.
            idempotency_key: A repeated key returns the first task instead of a new one.

        Returns:
            The queued task (or the earlier one with the same idempotency key).
        """
        return await self._send(
            calls.submit_call(
                task_type,
                input,
                prompt=prompt,
                agent_id=agent_id,
                priority=priority,
                max_retries=max_retries,
                timeout_s=timeout_s,
                idempotency_key=idempotency_key,
            )
        )

    async def get(self, task_id: str) -> Task:
        """One task, with its result once it has one."""
        return await self._send(calls.get_call(task_id))

    async def cancel(self, task_id: str) -> Task:
        """Cancel a task (at once if queued, within a second if running); idempotent."""
        return await self._send(calls.cancel_call(task_id))

    async def trace(self, task_id: str) -> builtins.list[dict[str, Any]]:
        """The task's audit entries, oldest first."""
        return await self._send(calls.trace_call(task_id))

    async def list(
        self, agent_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> AsyncIterator[Task]:
        """Every matching task, newest first, fetching pages of ``limit`` as it goes."""
        cursor: str | None = None
        while True:
            page = await self._send(calls.list_call(agent_id, status, limit, cursor))
            for task in page.items:
                yield task
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def events(
        self, task_id: str | None = None, last_event_id: int | str | None = None
    ) -> AsyncIterator[Event]:
        """Follow one task's events (ending with the task) or, without an id, the tenant's.

        A dropped connection is resumed after the last event received, so no event is
        lost or repeated.

        Raises:
            BatonConnectionError: When the stream cannot be resumed.
        """
        return self._follow(EventStream(task_id, last_event_id))

    async def _follow(self, stream: EventStream) -> AsyncGenerator[Event, None]:
        while True:
            try:
                async with self._http.stream(
                    "GET",
                    stream.path,
                    headers=stream.headers(),
                    timeout=stream.timeout(self.timeout),
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                    stream.check(response)
                    async for line in response.aiter_lines():
                        event = stream.feed(line)
                        if event is not None:
                            yield event
                    delay = stream.ended()
            except RETRYABLE as exc:
                delay = stream.dropped(exc, self._http.base_url)
            if delay is None:
                return
            await asyncio.sleep(delay)

    async def wait(self, task_id: str, timeout: float | None = None) -> Task:  # noqa: ASYNC109
        """Wait until the task is terminal and return it.

        Follows the task's event stream, polling instead if the stream fails.

        Raises:
            TimeoutError: When ``timeout`` seconds pass first.
        """
        waiter = Waiter(task_id, timeout)
        try:
            events = self._follow(waiter.stream())
            try:
                async for event in events:
                    if event.terminal:
                        break
            finally:
                await events.aclose()
        except TimeoutError:
            raise waiter.expired() from None
        except (BatonConnectionError, ServerError):
            pass  # the stream failed: poll instead
        task = await self.get(task_id)
        while not task.terminal:
            await asyncio.sleep(waiter.next_poll())
            task = await self.get(task_id)
        return task
