"""Background jobs a server runs on a timer: checkpoint signing and audit retention."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """A coroutine function to run every ``interval`` seconds."""

    name: str
    interval: float
    run: Callable[[], Awaitable[object]]


class PeriodicJobs:
    """Runs jobs on their intervals until stopped; a failing run is logged, never fatal."""

    def __init__(self, jobs: list[Job]) -> None:
        self._jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start every job (the first run comes after one interval)."""
        self._tasks = [asyncio.create_task(self._loop(job), name=job.name) for job in self._jobs]

    async def _loop(self, job: Job) -> None:
        while True:
            await asyncio.sleep(job.interval)
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic job %s failed; it will run again", job.name)

    async def stop(self) -> None:
        """Cancel the jobs and wait for them to end."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
