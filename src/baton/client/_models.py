"""Typed results: tasks, pages of tasks and stream events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class Task:
    """An agent task as the server shows it.

    Attributes:
        id: The task's id.
        agent_id: The agent that runs it.
        agent_version: The agent version it was pinned to at submission.
        task_type: The type it was submitted with.
        input: ``{prompt}`` or ``{messages}``, plus any extras.
        status: ``submitted``, ``running``, ``completed``, ``failed`` or ``cancelled``.
        priority: Higher runs first.
        result: ``{output, messages, usage}`` once completed, else ``None``.
        error: Why it failed, when it did.
        retry_count: Retries so far.
        max_retries: Retries allowed.
        cancel_requested: Whether a cancel was asked for.
        created_at: When it was submitted.
        started_at: When a worker first started it.
        completed_at: When it reached a terminal status.
    """

    id: str
    agent_id: str | None
    agent_version: int | None
    task_type: str
    input: dict[str, Any]
    status: str
    priority: int
    result: dict[str, Any] | None
    error: str | None
    retry_count: int
    max_retries: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        """Build a task from the API's JSON, ignoring fields this client does not know."""
        created = _time(data["created_at"])
        assert created is not None
        return cls(
            id=str(data["id"]),
            agent_id=data.get("agent_id"),
            agent_version=data.get("agent_version"),
            task_type=str(data.get("task_type", "")),
            input=dict(data.get("input") or {}),
            status=str(data["status"]),
            priority=int(data.get("priority", 0)),
            result=data.get("result"),
            error=data.get("error"),
            retry_count=int(data.get("retry_count", 0)),
            max_retries=int(data.get("max_retries", 0)),
            cancel_requested=bool(data.get("cancel_requested", False)),
            created_at=created,
            started_at=_time(data.get("started_at")),
            completed_at=_time(data.get("completed_at")),
        )

    @property
    def terminal(self) -> bool:
        """True once the task can never change again."""
        return self.status in TERMINAL_STATUSES

    @property
    def output(self) -> str | None:
        """The final answer (``result.output``), once there is one."""
        value = (self.result or {}).get("output")
        return None if value is None else str(value)

    @property
    def usage(self) -> dict[str, Any] | None:
        """Token usage and cost (``result.usage``), once there is one."""
        value = (self.result or {}).get("usage")
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of tasks and the cursor of the next, ``None`` on the last page."""

    items: list[Task]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event.

    Attributes:
        id: The event id (what ``Last-Event-ID`` resumes after), ``None`` if it had none.
        type: The event type: ``status`` or ``step`` for task events.
        data: The decoded JSON data (the raw text when it is not JSON).
    """

    id: int | None
    type: str
    data: Any

    @property
    def task_id(self) -> str | None:
        """The task the event is about, when it names one."""
        value = self.data.get("task_id") if isinstance(self.data, dict) else None
        return None if value is None else str(value)

    @property
    def status(self) -> str | None:
        """The new status, for a ``status`` event."""
        value = self.data.get("status") if isinstance(self.data, dict) else None
        return None if value is None else str(value)

    @property
    def terminal(self) -> bool:
        """True for a status event that ends its task."""
        return self.type == "status" and self.status in TERMINAL_STATUSES
