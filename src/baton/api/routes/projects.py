"""Projects."""

from __future__ import annotations

from fastapi import APIRouter, Response

from baton.api.deps import Caller, Cursor, Limit, Svc
from baton.api.schemas import PageOut, ProjectCreate, ProjectPublic, ProjectUpdate
from baton.services.projects import ProjectChanges

router = APIRouter(prefix="/api/projects")


@router.post("", name="projects.create", status_code=201, response_model=ProjectPublic)
async def create_project(body: ProjectCreate, caller: Caller, svc: Svc) -> object:
    """Create a project; ai_mode defaults to 'simple'."""
    return await svc.projects.create(caller, **body.model_dump())


@router.get("", name="projects.list", response_model=PageOut[ProjectPublic])
async def list_projects(
    caller: Caller, svc: Svc, limit: Limit = 100, cursor: Cursor = None
) -> object:
    """The tenant's projects, oldest first."""
    page = await svc.projects.list(caller, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{project_id}", name="projects.get", response_model=ProjectPublic)
async def get_project(project_id: str, caller: Caller, svc: Svc) -> object:
    """One project."""
    return await svc.projects.get(caller, project_id)


@router.patch("/{project_id}", name="projects.update", response_model=ProjectPublic)
async def update_project(project_id: str, body: ProjectUpdate, caller: Caller, svc: Svc) -> object:
    """Change some fields; a given ai_config replaces the old one."""
    changes = ProjectChanges(**body.model_dump(exclude_unset=True))
    return await svc.projects.update(caller, project_id, changes)


@router.delete("/{project_id}", name="projects.delete", status_code=204)
async def delete_project(project_id: str, caller: Caller, svc: Svc) -> Response:
    """Delete a project."""
    await svc.projects.delete(caller, project_id)
    return Response(status_code=204)
