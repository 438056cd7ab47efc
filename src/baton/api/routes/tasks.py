"""Agent tasks: submit, read, list, cancel, trace, and their live event streams (SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from baton.api.deps import Caller, Cursor, Limit, Svc
from baton.api.policy import bearer_key
from baton.api.schemas import AuditEntryPublic, PageOut, TaskPublic, TaskSubmit
from baton.domain.audit.log import entry_json
from baton.domain.tasks import TaskStatus
from baton.services.event_stream import resume_position
from baton.services.tasks import Submission

router = APIRouter(prefix="/api")


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
    start = resume_position(last_event_id, after)
    frames = await svc.streams.open(
        caller, bearer_key(request), start, task_id, request.is_disconnected
    )
    return _streaming(frames)


@router.get("/events", name="events.stream")
async def all_events(
    request: Request,
    caller: Caller,
    svc: Svc,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Every task event of the tenant as SSE, resumable with ``Last-Event-ID``."""
    start = resume_position(last_event_id, after)
    frames = await svc.streams.open(
        caller, bearer_key(request), start, None, request.is_disconnected
    )
    return _streaming(frames)
