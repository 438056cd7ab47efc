"""Tenants, users and API keys in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton.domain.ids import new_id
from baton.domain.tenancy import ApiKey, Principal, Role, Tenant
from baton.store.columns import utcnow
from baton.store.tables import ApiKeyRow, TenantRow, UserRow
from baton.store.uniqueness import flush_unique


def _tenant(row: TenantRow) -> Tenant:
    return Tenant(id=row.id, name=row.name, created_at=row.created_at)


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        role=Role(row.role),
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class TenantRepository:
    """Reads and writes tenants, users and API keys."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def count(self) -> int:
        """Number of tenants."""
        return int(
            (await self._s.execute(select(func.count()).select_from(TenantRow))).scalar_one()
        )

    async def create(self, name: str) -> Tenant:
        """Insert a tenant; Conflict when the name is taken."""
        row = TenantRow(id=new_id(), name=name, created_at=utcnow())
        self._s.add(row)
        await flush_unique(self._s, f"a tenant named {name!r}")
        return _tenant(row)

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        row = await self._s.get(TenantRow, tenant_id)
        return _tenant(row) if row else None

    async def get_by_name(self, name: str) -> Tenant | None:
        """The tenant with this name, or None."""
        row = (await self._s.execute(select(TenantRow).where(TenantRow.name == name))).scalar()
        return _tenant(row) if row else None

    async def list(self, *, after: str | None, limit: int, only: str | None = None) -> list[Tenant]:
        """Tenants ordered by id, after a cursor id; ``only`` restricts to one tenant."""
        query = select(TenantRow).order_by(TenantRow.id).limit(limit)
        if after:
            query = query.where(TenantRow.id > after)
        if only:
            query = query.where(TenantRow.id == only)
        return [_tenant(r) for r in (await self._s.execute(query)).scalars()]

    async def create_user(self, tenant_id: str, email: str, role: Role) -> str:
        """Insert a user and return its id."""
        row = UserRow(
            id=new_id(), tenant_id=tenant_id, email=email, role=role.value, created_at=utcnow()
        )
        self._s.add(row)
        await self._s.flush()
        return row.id

    async def create_key(
        self,
        *,
        tenant_id: str,
        name: str,
        role: Role,
        prefix: str,
        key_hash: str,
        user_id: str | None = None,
        created_by: str | None = None,
    ) -> ApiKey:
        """Store a new API key (its hash only)."""
        row = ApiKeyRow(
            id=new_id(),
            tenant_id=tenant_id,
            user_id=user_id,
            name=name,
            role=role.value,
            prefix=prefix,
            key_hash=key_hash,
            created_by=created_by,
            created_at=utcnow(),
        )
        self._s.add(row)
        await self._s.flush()
        return _key(row)

    async def principal_for_hash(self, key_hash: str) -> Principal | None:
        """The caller a live (unrevoked) key hash belongs to, or None."""
        query = select(ApiKeyRow.id, ApiKeyRow.tenant_id, ApiKeyRow.role).where(
            ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None)
        )
        row = (await self._s.execute(query)).first()
        if row is None:
            return None
        return Principal(key_id=row.id, tenant_id=row.tenant_id, role=Role(row.role))

    async def get_key(self, key_id: str) -> ApiKey | None:
        """The key's public record, or None."""
        row = await self._s.get(ApiKeyRow, key_id)
        return _key(row) if row else None

    async def revoke_key(self, key_id: str, when: datetime) -> None:
        """Mark a key revoked (idempotent)."""
        await self._s.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=when)
        )
