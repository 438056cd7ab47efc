"""Agents, their append-only versions and their current capabilities, in the database.

Every read takes the caller's tenant and sees that tenant's agents and the global ones.
Versions are only ever inserted: nothing here updates or deletes an ``agent_versions`` row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from baton.domain.agents import Agent, AgentConfig, AgentSpec, AgentStatus, AgentVersion
from baton.domain.ids import new_id
from baton.domain.tools import parse_tool_grants
from baton.store.columns import utcnow
from baton.store.tables import AgentCapabilityRow, AgentRow, AgentVersionRow
from baton.store.uniqueness import flush_unique

#: ``agent_capabilities.scope`` of a global agent's capabilities.
GLOBAL_SCOPE = "*"


def _spec(row: AgentVersionRow) -> AgentSpec:
    return AgentSpec(
        capabilities=tuple(row.capabilities),
        tools=tuple(parse_tool_grants(row.tools)),
        config=AgentConfig.restore(row.config),
    )


def _agent(row: AgentRow, version: AgentVersionRow) -> Agent:
    return Agent(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        description=row.description,
        status=AgentStatus(row.status),
        is_global=row.is_global,
        version=row.current_version,
        spec=_spec(version),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _version(row: AgentVersionRow) -> AgentVersion:
    return AgentVersion(
        agent_id=row.agent_id,
        version=row.version,
        spec=_spec(row),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _visible(tenant_id: str) -> ColumnElement[bool]:
    return or_(AgentRow.tenant_id == tenant_id, AgentRow.is_global.is_(true()))


def _with_current() -> Select[AgentRow, AgentVersionRow]:
    return select(AgentRow, AgentVersionRow).join(
        AgentVersionRow,
        and_(
            AgentVersionRow.agent_id == AgentRow.id,
            AgentVersionRow.version == AgentRow.current_version,
        ),
    )


def _scope(row: AgentRow) -> str:
    return GLOBAL_SCOPE if row.is_global else row.tenant_id


class AgentRepository:
    """Tenant-scoped reads and writes of agents: every read method takes the tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create(
        self,
        tenant_id: str,
        *,
        name: str,
        description: str,
        status: AgentStatus,
        is_global: bool,
        spec: AgentSpec,
        created_by: str | None,
    ) -> Agent:
        """Insert an agent and its version 1; Conflict when the name is taken in the tenant."""
        now = utcnow()
        row = AgentRow(
            id=new_id(),
            tenant_id=tenant_id,
            is_global=is_global,
            name=name,
            description=description,
            status=status.value,
            current_version=1,
            created_at=now,
            updated_at=now,
        )
        self._s.add(row)
        await flush_unique(self._s, f"an agent named {name!r}")
        version = self._add_version(row, 1, spec, created_by, now)
        await self._s.flush()
        return _agent(row, version)

    def _add_version(
        self, row: AgentRow, number: int, spec: AgentSpec, created_by: str | None, now: datetime
    ) -> AgentVersionRow:
        version = AgentVersionRow(
            agent_id=row.id,
            version=number,
            capabilities=list(spec.capabilities),
            tools=spec.tools_json(),
            config=spec.config.to_json(),
            created_by=created_by,
            created_at=now,
        )
        self._s.add(version)
        scope = _scope(row)
        self._s.add_all(
            AgentCapabilityRow(agent_id=row.id, capability=cap, scope=scope)
            for cap in spec.capabilities
        )
        return version

    async def get(self, tenant_id: str, agent_id: str) -> Agent | None:
        """An agent the tenant may see (its own or a global one), or None."""
        query = _with_current().where(AgentRow.id == agent_id, _visible(tenant_id))
        found = (await self._s.execute(query)).first()
        return _agent(*found) if found else None

    async def get_by_name(self, tenant_id: str, name: str) -> Agent | None:
        """The tenant's own agent named ``name``, else a global one of that name, or None."""
        query = (
            _with_current()
            .where(AgentRow.name == name, _visible(tenant_id))
            .order_by(AgentRow.is_global)
            .limit(1)
        )
        found = (await self._s.execute(query)).first()
        return _agent(*found) if found else None

    async def search(
        self,
        tenant_id: str,
        *,
        capabilities: Sequence[str] = (),
        status: AgentStatus | None = None,
        text: str | None = None,
        after: str | None,
        limit: int,
    ) -> list[Agent]:
        """Visible agents by id after a cursor id, filtered by any-of capabilities, status, text."""
        query = _with_current().where(_visible(tenant_id)).order_by(AgentRow.id).limit(limit)
        if capabilities:
            query = query.where(AgentRow.id.in_(self._with_capability(tenant_id, capabilities)))
        if status is not None:
            query = query.where(AgentRow.status == status.value)
        if text:
            query = query.where(
                or_(
                    AgentRow.name.icontains(text, autoescape=True),
                    AgentRow.description.icontains(text, autoescape=True),
                )
            )
        if after:
            query = query.where(AgentRow.id > after)
        return [_agent(row, version) for row, version in (await self._s.execute(query))]

    @staticmethod
    def _with_capability(tenant_id: str, capabilities: Sequence[str]) -> Select[str]:
        return select(AgentCapabilityRow.agent_id).where(
            AgentCapabilityRow.scope.in_([tenant_id, GLOBAL_SCOPE]),
            AgentCapabilityRow.capability.in_(list(capabilities)),
        )

    async def with_any_capability(self, tenant_id: str, capabilities: Sequence[str]) -> list[Agent]:
        """Active visible agents whose current version has any of ``capabilities``.

        One probe of ``ix_agent_capabilities_scope_capability`` per (scope, capability).
        """
        query = _with_current().where(
            AgentRow.id.in_(self._with_capability(tenant_id, capabilities)),
            AgentRow.status == AgentStatus.ACTIVE.value,
        )
        return [_agent(row, version) for row, version in (await self._s.execute(query))]

    async def _locked_row(self, agent_id: str) -> AgentRow:
        query = select(AgentRow).where(AgentRow.id == agent_id).with_for_update()
        return (await self._s.execute(query)).scalar_one()

    async def update(self, agent_id: str, **changes: Any) -> None:
        """Change name, description or status of an agent (whose visibility was checked)."""
        row = await self._locked_row(agent_id)
        for field, value in changes.items():
            setattr(row, field, value.value if isinstance(value, AgentStatus) else value)
        row.updated_at = utcnow()
        await flush_unique(self._s, f"an agent named {row.name!r}")

    async def add_version(self, agent_id: str, spec: AgentSpec, created_by: str | None) -> int:
        """Append the next version, make it current and mirror its capabilities; its number.

        The agent row is locked first, so concurrent editors get consecutive numbers.
        """
        row = await self._locked_row(agent_id)
        number = row.current_version + 1
        await self._s.execute(
            delete(AgentCapabilityRow).where(AgentCapabilityRow.agent_id == agent_id)
        )
        now = utcnow()
        self._add_version(row, number, spec, created_by, now)
        row.current_version = number
        row.updated_at = now
        await self._s.flush()
        return number

    async def versions(self, agent_id: str, *, after: int, limit: int) -> list[AgentVersion]:
        """An agent's versions in order, after version number ``after``."""
        query = (
            select(AgentVersionRow)
            .where(AgentVersionRow.agent_id == agent_id, AgentVersionRow.version > after)
            .order_by(AgentVersionRow.version)
            .limit(limit)
        )
        return [_version(row) for row in (await self._s.execute(query)).scalars()]
