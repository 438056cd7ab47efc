"""Projects in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.domain.ids import new_id
from baton.domain.projects import AiMode, Project
from baton.store.columns import utcnow
from baton.store.tables import ProjectRow
from baton.store.uniqueness import flush_unique


def _project(row: ProjectRow) -> Project:
    return Project(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        description=row.description,
        ai_mode=AiMode(row.ai_mode),
        ai_config=dict(row.ai_config or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ProjectRepository:
    """Tenant-scoped reads and writes of projects: every method takes the tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create(
        self,
        tenant_id: str,
        *,
        name: str,
        description: str,
        ai_mode: AiMode,
        ai_config: dict[str, Any],
    ) -> Project:
        """Insert a project; Conflict when its name is taken in the tenant."""
        now = utcnow()
        row = ProjectRow(
            id=new_id(),
            tenant_id=tenant_id,
            name=name,
            description=description,
            ai_mode=ai_mode.value,
            ai_config=ai_config,
            created_at=now,
            updated_at=now,
        )
        self._s.add(row)
        await flush_unique(self._s, f"a project named {name!r}")
        return _project(row)

    async def _row(self, tenant_id: str, project_id: str) -> ProjectRow | None:
        query = select(ProjectRow).where(
            ProjectRow.tenant_id == tenant_id, ProjectRow.id == project_id
        )
        return (await self._s.execute(query)).scalar()

    async def get(self, tenant_id: str, project_id: str) -> Project | None:
        """The tenant's project, or None (also for another tenant's project)."""
        row = await self._row(tenant_id, project_id)
        return _project(row) if row else None

    async def list(self, tenant_id: str, *, after: str | None, limit: int) -> list[Project]:
        """The tenant's projects by id, after a cursor id."""
        query = (
            select(ProjectRow)
            .where(ProjectRow.tenant_id == tenant_id)
            .order_by(ProjectRow.id)
            .limit(limit)
        )
        if after:
            query = query.where(ProjectRow.id > after)
        return [_project(r) for r in (await self._s.execute(query)).scalars()]

    async def update(self, tenant_id: str, project_id: str, **changes: Any) -> Project | None:
        """Apply field changes; None when the project is not the tenant's."""
        row = await self._row(tenant_id, project_id)
        if row is None:
            return None
        for field, value in changes.items():
            setattr(row, field, value.value if isinstance(value, AiMode) else value)
        row.updated_at = utcnow()
        await flush_unique(self._s, f"a project named {row.name!r}")
        return _project(row)

    async def delete(self, tenant_id: str, project_id: str) -> bool:
        """Delete the tenant's project; False when there was none."""
        result = await self._s.execute(
            delete(ProjectRow).where(ProjectRow.tenant_id == tenant_id, ProjectRow.id == project_id)
        )
        return bool(getattr(result, "rowcount", 0))
