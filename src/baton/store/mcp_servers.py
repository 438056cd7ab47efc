"""MCP server configurations in the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.domain.ids import new_id
from baton.store.columns import utcnow
from baton.store.tables import McpServerRow
from baton.store.uniqueness import flush_unique
from baton.tools.mcp_config import McpServerConfig, McpTransport


def _config(row: McpServerRow) -> McpServerConfig:
    transport: McpTransport = "stdio" if row.transport == "stdio" else "http"
    return McpServerConfig(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        transport=transport,
        command=row.command,
        args=tuple(row.args or ()),
        env=dict(row.env or {}),
        url=row.url,
        enabled=row.enabled,
        created_at=row.created_at,
        private_approved=row.private_approved,
    )


class McpServerRepository:
    """Tenant-scoped reads and writes of MCP server configurations."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create(
        self,
        tenant_id: str,
        *,
        name: str,
        transport: McpTransport,
        command: str | None,
        args: Sequence[str],
        env: Mapping[str, str],
        url: str | None,
        enabled: bool,
        private_approved: bool = False,
    ) -> McpServerConfig:
        """Insert a server; Conflict when the name is taken in the tenant."""
        row = McpServerRow(
            id=new_id(),
            tenant_id=tenant_id,
            name=name,
            transport=transport,
            command=command,
            args=list(args),
            env=dict(env),
            url=url,
            enabled=enabled,
            created_at=utcnow(),
            private_approved=private_approved,
        )
        self._s.add(row)
        await flush_unique(self._s, f"an MCP server named {name!r}")
        return _config(row)

    async def get(self, tenant_id: str, server_id: str) -> McpServerConfig | None:
        """The tenant's server, or None (also for another tenant's)."""
        query = select(McpServerRow).where(
            McpServerRow.tenant_id == tenant_id, McpServerRow.id == server_id
        )
        row = (await self._s.execute(query)).scalar()
        return _config(row) if row else None

    async def list(
        self, tenant_id: str, *, after: str | None = None, limit: int | None = None
    ) -> list[McpServerConfig]:
        """The tenant's servers by id, after a cursor id."""
        query = (
            select(McpServerRow)
            .where(McpServerRow.tenant_id == tenant_id)
            .order_by(McpServerRow.id)
        )
        if after:
            query = query.where(McpServerRow.id > after)
        if limit is not None:
            query = query.limit(limit)
        return [_config(r) for r in (await self._s.execute(query)).scalars()]

    async def delete(self, tenant_id: str, server_id: str) -> bool:
        """Delete the tenant's server; False when there was none."""
        result = await self._s.execute(
            delete(McpServerRow).where(
                McpServerRow.tenant_id == tenant_id, McpServerRow.id == server_id
            )
        )
        return bool(getattr(result, "rowcount", 0))
