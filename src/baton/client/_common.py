"""What the sync and async clients share: configuration, requests and response parsing.

Every operation is a :class:`Call`: a request description plus the pure function that
turns the response into a typed result. The two clients only send calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from baton import __version__
from baton.client._errors import raise_for_error
from baton.client._models import Page, Task

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = f"baton-client/{__version__}"


def resolve_api_key(api_key: str | None) -> str | None:
    """The key to use: ``api_key``, else ``$BATON_API_KEY``, else ``$BATON_DATA_DIR/admin.key``.

    Args:
        api_key: An explicit key, which wins when given.

    Returns:
        The key, or ``None`` when none is configured (requests will then get 401).
    """
    if api_key:
        return api_key
    env = os.environ.get("BATON_API_KEY", "").strip()
    if env:
        return env
    path = Path(os.environ.get("BATON_DATA_DIR") or ".baton") / "admin.key"
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def default_headers(api_key: str | None) -> dict[str, str]:
    """Headers every request carries."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def client_options(
    base_url: str, api_key: str | None, timeout: float, transport: Any
) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
    options: dict[str, Any] = {
        "base_url": base_url.rstrip("/"),
        "headers": default_headers(resolve_api_key(api_key)),
        "timeout": httpx.Timeout(timeout),
    }
    if transport is not None:
        options["transport"] = transport
    return options


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """Build the httpx request on ``http`` (for its base URL and headers)."""
        params = {k: v for k, v in self.params.items() if v is not None}
        return http.build_request(self.method, self.path, params=params, json=self.json)

    def result(self, response: httpx.Response) -> T:
        """Raise the API error for an error response, else parse the JSON body."""
        raise_for_error(response)
        return self.parse(response.json())


def _task_path(task_id: str, suffix: str = "") -> str:
    if not task_id:
        raise ValueError("task_id must not be empty")
    return f"/api/agents/tasks/{quote(task_id, safe='')}{suffix}"


def submit_call(
    task_type: str,
    input: dict[str, Any] | None,
    *,
    prompt: str | None,
    agent_id: str | None,
    priority: int,
    max_retries: int | None,
    timeout_s: float | None,
    idempotency_key: str | None,
) -> Call[Task]:
    """``POST /api/agents/tasks``; ``prompt`` is a shortcut for ``input={"prompt": ...}``."""
    body_input = dict(input or {})
    if prompt is not None:
        if "prompt" in body_input:
            raise ValueError("give the prompt either as prompt= or in input, not both")
        body_input["prompt"] = prompt
    if not body_input:
        raise ValueError("a task needs input={'prompt' | 'messages': ...} or prompt=")
    body: dict[str, Any] = {"task_type": task_type, "input": body_input, "priority": priority}
    optional = {
        "agent_id": agent_id,
        "max_retries": max_retries,
        "timeout_s": timeout_s,
        "idempotency_key": idempotency_key,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return Call("POST", "/api/agents/tasks", Task.from_json, json=body)


def get_call(task_id: str) -> Call[Task]:
    """``GET /api/agents/tasks/{id}``."""
    return Call("GET", _task_path(task_id), Task.from_json)


def cancel_call(task_id: str) -> Call[Task]:
    """``POST /api/agents/tasks/{id}/cancel``."""
    return Call("POST", _task_path(task_id, "/cancel"), Task.from_json)


def _entries(data: Any) -> list[dict[str, Any]]:
    return [dict(entry) for entry in data]


def trace_call(task_id: str) -> Call[list[dict[str, Any]]]:
    """``GET /api/agents/tasks/{id}/trace``: the task's audit entries, oldest first."""
    return Call("GET", _task_path(task_id, "/trace"), _entries)


def _page(data: Any) -> Page:
    return Page([Task.from_json(item) for item in data["items"]], data.get("next_cursor"))


def list_call(
    agent_id: str | None, status: str | None, limit: int, cursor: str | None
) -> Call[Page]:
    """``GET /api/agents/tasks``: one page, newest first."""
    params = {"agent_id": agent_id, "status": status, "limit": limit, "cursor": cursor}
    return Call("GET", "/api/agents/tasks", _page, params=params)


def events_path(task_id: str | None) -> str:
    """The SSE endpoint: one task's stream, or the whole tenant's."""
    return "/api/events" if task_id is None else _task_path(task_id, "/events")
