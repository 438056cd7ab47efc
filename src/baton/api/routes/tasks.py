"""Agent tasks: submit, read, list, cancel, trace, and their live event streams (SSE)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from baton.api.deps import Caller, Cursor, Limit, Svc
from baton.api.schemas import AuditEntryPublic, PageOut, TaskPublic, TaskSubmit
from baton.domain.audit.log import entry_json
from baton.domain.errors import InvalidInput
from baton.domain.tasks import TaskStatus
from baton.domain.tenancy import Principal
from baton.services.container import Services
from baton.services.tasks import Submission

router = APIRouter(prefix="/api")

KEEPALIVE_S = 15.0
EVENTS_PAGE = 500
_FINAL = {s.value for s in TaskStatus if s.terminal}


def _final(kind: str, data: dict[str, object]) -> bool:
    """True for the status event that ends a task (nothing of that task follows it)."""
    return kind == "status" and data.get("status") in _FINAL


@router.post("/agents/tasks", name="tasks.submit", status_code=202, response_model=TaskPublic)
async def submit_task(body: TaskSubmit, caller: Caller, svc: Svc, response: Response) -> object:
    """Queue an agent task; 202 with its id. A repeated idempotency key returns the first task."""
    task, created = await svc.tasks.submit(caller, Submission(**body.model_dump()))
    if not created:
        response.status_code = 200
    return task


@router.get("/agents/tasks", name="tasks.list", response_model=PageOut[TaskPublic])
async def list_tasks(
    caller: Caller,
    svc: Svc,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    status: TaskStatus | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> object:
    """The tenant's tasks, newest first."""
    page = await svc.tasks.search(
        caller,
        agent_id=agent_id,
        status=status.value if status else None,
        cursor=cursor,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/agents/tasks/{task_id}", name="tasks.get", response_model=TaskPublic)
async def get_task(task_id: str, caller: Caller, svc: Svc) -> object:
    """One task, with its result once it has one."""
    return await svc.tasks.get(caller, task_id)


@router.post("/agents/tasks/{task_id}/cancel", name="tasks.cancel", response_model=TaskPublic)
async def cancel_task(task_id: str, caller: Caller, svc: Svc) -> object:
    """Cancel a queued task at once; a running one stops within a second."""
    return await svc.tasks.cancel(caller, task_id)


@router.get(
    "/agents/tasks/{task_id}/trace", name="tasks.trace", response_model=list[AuditEntryPublic]
)
async def task_trace(task_id: str, caller: Caller, svc: Svc) -> object:
    """The task's audit entries, oldest first: prompt, responses, tool calls, results."""
    return [entry_json(e) for e in await svc.tasks.trace(caller, task_id)]


def _resume_from(header: str | None, query: int | None) -> int:
    value = header if header is not None else query
    if value is None:
        return 0
    text = str(value).strip()
    if not text.isdigit():
        raise InvalidInput("Last-Event-ID must be an event id (a number)")
    return int(text)


async def _sse(
    request: Request, svc: Services, caller: Principal, after: int, task_id: str | None
) -> AsyncIterator[str]:
    signals = svc.queue.signals
    while True:
        seen = signals.events_count
        events = await svc.tasks.events(caller, after, task_id, limit=EVENTS_PAGE)
        ended = False
        for event in events:
            after = event.id
            body = {"task_id": event.task_id, "type": event.type, **event.data}
            body["at"] = event.created_at.isoformat()
            yield f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(body, default=str)}\n\n"
            ended = ended or (task_id is not None and _final(event.type, event.data))
        if ended:
            return  # a task's final status is its last event: the stream is complete
        if len(events) == EVENTS_PAGE:
            continue  # more are waiting
        if task_id is not None and not events:
            task = await svc.queue.get(caller.tenant_id, task_id)
            if task is None or task.status.terminal:
                # Everything up to the end has been sent: the stream is complete.
                if not await svc.tasks.events(caller, after, task_id):
                    return
                continue
        if await request.is_disconnected():
            return
        await signals.wait_events(KEEPALIVE_S, since=seen)
        yield ": keep-alive\n\n"


def _streaming(body: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


@router.get("/agents/tasks/{task_id}/events", name="tasks.events")
async def task_events(
    task_id: str,
    request: Request,
    caller: Caller,
    svc: Svc,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """The task's events as SSE, from the start or after ``Last-Event-ID``; ends with the task."""
    await svc.tasks.get(caller, task_id)
    start = _resume_from(last_event_id, after)
    return _streaming(_sse(request, svc, caller, start, task_id))


@router.get("/events", name="events.stream")
async def all_events(
    request: Request,
    caller: Caller,
    svc: Svc,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Every task event of the tenant as SSE, resumable with ``Last-Event-ID``."""
    start = _resume_from(last_event_id, after)
    return _streaming(_sse(request, svc, caller, start, None))
