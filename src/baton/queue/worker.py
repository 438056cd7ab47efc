"""Workers: claim tasks, run them concurrently under a lease, report each outcome once.

A worker is asyncio: one process runs many I/O-bound tasks at once (``concurrency``).
Its heartbeat renews every lease it holds in one statement, independently of task code;
it learns of cancellations from signals (at once) or the heartbeat (at the latest). Every
worker also reaps expired leases, so a crashed process's tasks run again elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from baton.domain.tasks import PermanentFailure, Task, TaskFailure, TaskStatus
from baton.queue.batcher import Batcher
from baton.queue.task_queue import TaskQueue
from baton.store.tasks import Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What a handler gets besides its task: the queue, for steps and the tool journal."""

    task: Task
    queue: TaskQueue
    worker_id: str

    async def step(self, data: dict[str, Any]) -> None:
        """Publish a step on the task's event stream."""
        await self.queue.add_step(self.task, data)


Handler = Callable[[Task, TaskContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How a worker paces itself."""

    concurrency: int = 100
    claim_batch: int = 64
    heartbeat_s: float = 5.0
    poll_s: float = 1.0
    reap_s: float = 5.0
    shutdown_grace_s: float = 10.0
    default_timeout_s: float = 600.0


def new_worker_id() -> str:
    """A worker id that names the machine and process, unique across restarts."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """One process's worker: claim loop, heartbeat, reaper, and the running tasks."""

    def __init__(
        self,
        queue: TaskQueue,
        handlers: Mapping[str, Handler],
        settings: WorkerSettings | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.queue = queue
        self.handlers = dict(handlers)
        self.settings = settings or WorkerSettings()
        self.id = worker_id or new_worker_id()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._reporting: set[str] = set()
        self._cancelled: set[str] = set()
        self._slot = asyncio.Event()
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        self._finisher: Batcher[Outcome, Task] = Batcher(self.queue.finish)
        self._orphans: set[str] = set()

    @property
    def running(self) -> int:
        """Tasks this worker is running now."""
        return len(self._running)

    def start(self) -> None:
        """Start claiming, heartbeating and reaping."""
        self.queue.signals.on_cancel(self._on_cancel)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name=f"claim {self.id}"),
            asyncio.create_task(self._every(self.settings.heartbeat_s, self._heartbeat)),
            asyncio.create_task(self._every(self.settings.reap_s, self.queue.reap)),
        ]

    async def stop(self) -> None:
        """Stop claiming, let running tasks finish for a grace period, release the rest."""
        self._stopping = True
        self._loops[0].cancel()
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=self.settings.shutdown_grace_s)
        leftover = list(self._running)
        for task in list(self._running.values()):
            task.cancel()
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        if leftover:
            released = await self.queue.release(self.id, leftover)
            log.info("worker %s released %d lease(s) on shutdown", self.id, len(released))
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)

    async def _every(self, seconds: float, action: Callable[[], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except Exception:
                log.exception("worker %s: periodic %s failed", self.id, action.__name__)

    async def _claim_loop(self) -> None:
        settings = self.settings
        while not self._stopping:
            free = settings.concurrency - len(self._running)
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            try:
                tasks = await self.queue.claim(self.id, min(free, settings.claim_batch))
            except Exception:
                log.exception("worker %s: claim failed", self.id)
                await asyncio.sleep(settings.poll_s)
                continue
            if not tasks:
                await self.queue.signals.wait_available(settings.poll_s)
                continue
            for task in tasks:
                self._running[task.id] = asyncio.create_task(self._execute(task))

    async def _heartbeat(self) -> None:
        held = await self.queue.renew(self.id)
        still_held = {task_id for task_id, _ in held}
        # A lease held for no running task means its outcome could not be written: give it
        # back so the task runs again instead of being renewed forever. Two heartbeats in
        # a row, so a task claimed while this one was in flight is not mistaken for one.
        idle = {t for t in still_held if t not in self._running and t not in self._reporting}
        orphans, self._orphans = idle & self._orphans, idle - self._orphans
        if orphans:
            log.warning(
                "worker %s gives back %d lease(s) it could not report", self.id, len(orphans)
            )
            await self.queue.release(self.id, sorted(orphans))
        for task_id, cancel in held:
            if cancel:
                self._on_cancel(task_id)
        for task_id, task in list(self._running.items()):
            if task_id not in still_held and task_id not in self._reporting:
                log.warning("worker %s lost the lease of %s; stopping it", self.id, task_id)
                task.cancel()

    def _on_cancel(self, task_id: str) -> None:
        running = self._running.get(task_id)
        if running is not None and task_id not in self._reporting:
            self._cancelled.add(task_id)
            running.cancel()

    async def _execute(self, task: Task) -> None:
        try:
            outcome = await self._attempt(task)
            if outcome is not None:
                self._reporting.add(task.id)
                await self._finisher.submit(outcome)
        except Exception:
            log.exception("worker %s: could not report the outcome of %s", self.id, task.id)
        finally:
            self._running.pop(task.id, None)
            self._reporting.discard(task.id)
            self._cancelled.discard(task.id)
            self._slot.set()

    async def _attempt(self, task: Task) -> Outcome | None:
        """Run the handler; translate how it ended into an outcome (None: report nothing)."""
        epoch = task.lease_epoch
        if task.cancel_requested:
            return Outcome(task.id, epoch, TaskStatus.CANCELLED, error="cancelled")
        handler = self.handlers.get(task.kind)
        timeout = task.timeout_s or self.settings.default_timeout_s
        try:
            if handler is None:
                raise PermanentFailure(f"no handler for tasks of kind {task.kind!r}")
            context = TaskContext(task, self.queue, self.id)
            result = await asyncio.wait_for(handler(task, context), timeout)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.id in self._cancelled and current is not None:
                current.uncancel()
                return Outcome(
                    task.id, epoch, TaskStatus.CANCELLED, error="cancelled while running"
                )
            raise  # shutdown or a lost lease: the lease is released or already gone
        except TimeoutError:
            return Outcome(
                task.id, epoch, TaskStatus.FAILED, error=f"timed out after {timeout:g} s"
            )
        except TaskFailure as failure:
            return self._failure(task, failure.message, failure.retryable)
        except Exception as exc:
            log.exception("task %s: handler crashed", task.id)
            return self._failure(task, f"internal error: {type(exc).__name__}: {exc}", False)
        return Outcome(task.id, epoch, TaskStatus.COMPLETED, result=result)

    def _failure(self, task: Task, error: str, retryable: bool) -> Outcome:
        if retryable and task.retry_count < task.max_retries:
            delay = self.queue.limits.retry.delay(task.retry_count + 1)
            return Outcome(
                task.id,
                task.lease_epoch,
                TaskStatus.SUBMITTED,
                error=error,
                retry_in=delay,
                count_retry=True,
            )
        if retryable:
            error = f"{error} (gave up after {task.retry_count} retries)"
        return Outcome(task.id, task.lease_epoch, TaskStatus.FAILED, error=error)
