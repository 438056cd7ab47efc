"""Project use cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baton.domain.audit.log import admin_action
from baton.domain.errors import InvalidInput, NotFound
from baton.domain.projects import AiMode, Project, parse_ai_mode, validate_ai_config
from baton.domain.tenancy import Principal
from baton.services.audit import AuditService
from baton.store.database import Database
from baton.store.pagination import Page, decode_cursor, page_of


@dataclass(frozen=True, slots=True)
class ProjectChanges:
    """Fields a PATCH may change; None means 'leave as is'."""

    name: str | None = None
    description: str | None = None
    ai_mode: str | None = None
    ai_config: dict[str, Any] | None = None


class ProjectService:
    """Create, read, change and delete the caller's tenant's projects."""

    def __init__(self, db: Database, audit: AuditService) -> None:
        self._db = db
        self._audit = audit

    async def create(
        self,
        caller: Principal,
        *,
        name: str,
        description: str = "",
        ai_mode: str = "simple",
        ai_config: dict[str, Any] | None = None,
    ) -> Project:
        """Create a project in the caller's tenant."""
        mode = parse_ai_mode(ai_mode)
        config = validate_ai_config(ai_config or {})
        async with self._db.transaction() as uow:
            project = await uow.projects.create(
                caller.tenant_id, name=name, description=description, ai_mode=mode, ai_config=config
            )
            event = admin_action(
                caller.tenant_id,
                caller.key_id,
                "project.created",
                project.id,
                name=name,
                ai_mode=mode.value,
            )
            await self._audit.append_in(uow, [event])
        return project

    async def get(self, caller: Principal, project_id: str) -> Project:
        """One of the caller's tenant's projects; NotFound otherwise."""
        async with self._db.transaction(write=False) as uow:
            project = await uow.projects.get(caller.tenant_id, project_id)
        if project is None:
            raise NotFound(f"project {project_id} not found")
        return project

    async def list(self, caller: Principal, *, cursor: str | None, limit: int) -> Page[Project]:
        """A page of the caller's tenant's projects, oldest first."""
        async with self._db.transaction(write=False) as uow:
            items = await uow.projects.list(
                caller.tenant_id, after=decode_cursor(cursor), limit=limit + 1
            )
        return page_of(items, limit)

    async def update(self, caller: Principal, project_id: str, changes: ProjectChanges) -> Project:
        """Apply a partial update; ai_config, when given, replaces the old one whole."""
        fields: dict[str, Any] = {}
        if changes.name is not None:
            fields["name"] = changes.name
        if changes.description is not None:
            fields["description"] = changes.description
        if changes.ai_mode is not None:
            fields["ai_mode"] = parse_ai_mode(changes.ai_mode)
        if changes.ai_config is not None:
            fields["ai_config"] = validate_ai_config(changes.ai_config)
        if not fields:
            raise InvalidInput("nothing to change: give at least one field")
        async with self._db.transaction() as uow:
            project = await uow.projects.update(caller.tenant_id, project_id, **fields)
            if project is None:
                raise NotFound(f"project {project_id} not found")
            changed = {k: (v.value if isinstance(v, AiMode) else v) for k, v in fields.items()}
            event = admin_action(
                caller.tenant_id, caller.key_id, "project.updated", project_id, changes=changed
            )
            await self._audit.append_in(uow, [event])
        return project

    async def delete(self, caller: Principal, project_id: str) -> None:
        """Delete one of the caller's tenant's projects."""
        async with self._db.transaction() as uow:
            if not await uow.projects.delete(caller.tenant_id, project_id):
                raise NotFound(f"project {project_id} not found")
            event = admin_action(caller.tenant_id, caller.key_id, "project.deleted", project_id)
            await self._audit.append_in(uow, [event])
