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
    When the flush returns one result per item, each caller gets its own. With
    ``isolate``, a batch that fails is flushed again one item at a time, so one bad item
    fails alone instead of taking the others with it.
    """

    def __init__(
        self, flush: Callable[[list[T]], Awaitable[Sequence[R] | Any]], *, isolate: bool = False
    ) -> None:
        self._flush = flush
        self._isolate = isolate
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
            await self._flush_batch(batch, self._isolate)

    async def _flush_batch(
        self, batch: list[tuple[T, asyncio.Future[R | None]]], isolate: bool
    ) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
        except Exception as exc:
            if isolate and len(batch) > 1:
                for single in batch:
                    await self._flush_batch([single], isolate=False)
                return
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        aligned = isinstance(results, list) and len(results) == len(batch)
        for index, (_, future) in enumerate(batch):
            if not future.done():
                future.set_result(results[index] if aligned else None)
