"""Coalescing many concurrent writes into one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Callers ``submit`` items; whatever queued up meanwhile is flushed in one call.

    One flush runs at a time; items that arrive during it form the next batch, so under
    load each transaction carries many items and with no load each item goes at once.
    When the flush returns one result per item, each caller gets its own; an exception
    in that list is raised to its caller alone.
    """

    def __init__(self, flush: Callable[[list[T]], Awaitable[Sequence[R] | Any]]) -> None:
        self._flush = flush
        self._pending: list[tuple[T, asyncio.Future[R | None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R | None:
        """Queue ``item``; return its result once the flush that carried it has committed."""
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            aligned = isinstance(results, list) and len(results) == len(batch)
            for index, (_, future) in enumerate(batch):
                if future.done():
                    continue
                result = results[index] if aligned else None
                if isinstance(result, Exception):  # that item alone failed
                    future.set_exception(result)
                else:
                    future.set_result(result)
