"""The unit of work: one session, one transaction, and the repositories that share it."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from baton.store.agents import AgentRepository
from baton.store.mcp_servers import McpServerRepository
from baton.store.projects import ProjectRepository
from baton.store.tenants import TenantRepository


class UnitOfWork:
    """Repositories bound to one transaction; services get one per use case."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @cached_property
    def tenants(self) -> TenantRepository:
        """Tenants, users and API keys."""
        return TenantRepository(self.session)

    @cached_property
    def projects(self) -> ProjectRepository:
        """Projects."""
        return ProjectRepository(self.session)

    @cached_property
    def agents(self) -> AgentRepository:
        """Agents and their versions."""
        return AgentRepository(self.session)

    @cached_property
    def mcp_servers(self) -> McpServerRepository:
        """MCP server configurations."""
        return McpServerRepository(self.session)

    async def flush(self) -> None:
        """Send pending writes now (to surface constraint errors inside the block)."""
        await self.session.flush()
