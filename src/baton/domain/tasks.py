"""Agent tasks: lifecycle, retry policy and the errors that decide what happens next."""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.domain.errors import InvalidInput

AGENT_KIND = "agent"
MAX_INPUT_BYTES = 256 * 1024


class TaskStatus(enum.StrEnum):
    """Where a task is in its life."""

    SUBMITTED = "submitted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True once the task can never change again."""
        return self in _TERMINAL


_TERMINAL = {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}

#: Which status may follow which. Retries and released leases go back to submitted.
TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.SUBMITTED: frozenset({TaskStatus.RUNNING, TaskStatus.CANCELLED, TaskStatus.FAILED}),
    TaskStatus.RUNNING: frozenset(
        {TaskStatus.SUBMITTED, TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}
    ),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


def may_move(current: TaskStatus, new: TaskStatus) -> bool:
    """True when a task in ``current`` may move to ``new``."""
    return new in TRANSITIONS[current]


class TaskFailure(Exception):
    """A task attempt failed; ``retryable`` says whether another attempt may succeed."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientFailure(TaskFailure):
    """An outage that may pass: the task is tried again after a backoff."""

    retryable = True


class PermanentFailure(TaskFailure):
    """A failure that another attempt would repeat (bad config, max_steps reached...)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: delay = uniform(0, min(cap, base * 2^attempt))."""

    base_s: float = 1.0
    cap_s: float = 300.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt number ``attempt`` + 1 (attempt counts from 1)."""
        ceiling = min(self.cap_s, self.base_s * (2 ** max(0, attempt - 1)))
        return (rng or random).uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class Task:
    """A task as stored."""

    id: str
    tenant_id: str
    kind: str
    agent_id: str | None
    agent_version: int | None
    task_type: str
    input: dict[str, Any]
    status: TaskStatus
    priority: int
    result: dict[str, Any] | None
    error: str | None
    retry_count: int
    max_retries: int
    crash_count: int
    timeout_s: float | None
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    lease_owner: str | None
    lease_epoch: int
    cancel_requested: bool


def validate_input(value: Mapping[str, Any]) -> dict[str, Any]:
    """An agent task's input: ``prompt`` (text) or ``messages`` (chat messages), plus extras.

    Raises:
        InvalidInput: naming the field.
    """
    data = dict(value)
    prompt, messages = data.get("prompt"), data.get("messages")
    if prompt is None and messages is None:
        raise _bad("input", "needs 'prompt' (text) or 'messages' (a list of chat messages)")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise _bad("input.prompt", "must be non-empty text")
    if messages is not None:
        if not isinstance(messages, list) or not messages:
            raise _bad("input.messages", "must be a non-empty list")
        for i, message in enumerate(messages):
            if not isinstance(message, Mapping):
                raise _bad(f"input.messages[{i}]", "must be an object")
            if message.get("role") not in ("system", "user", "assistant", "tool"):
                raise _bad(f"input.messages[{i}].role", "must be system, user, assistant or tool")
            if not isinstance(message.get("content", ""), str | None):
                raise _bad(f"input.messages[{i}].content", "must be text")
    return data


def refuse_system_messages(data: Mapping[str, Any]) -> None:
    """Refuse input messages with the system role: the agent's own system prompt governs.

    Raises:
        InvalidInput: naming ``input.messages[i].role`` of the first one.
    """
    for i, message in enumerate(data.get("messages") or ()):
        if message.get("role") == "system":
            raise _bad(
                f"input.messages[{i}].role",
                "system messages are refused: the agent's config sets its system prompt "
                "(allow_input_system_prompt is false)",
            )


def _bad(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", details=[{"field": field, "reason": reason}])
