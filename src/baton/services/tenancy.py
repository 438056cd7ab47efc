"""Tenancy use cases: tenants, API keys, authentication and first-start bootstrap."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from baton.domain.audit.log import admin_action
from baton.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from baton.domain.failure_window import FailureWindow
from baton.domain.keys import display_prefix, generate_key, hash_key
from baton.domain.tenancy import DEFAULT_TENANT, ApiKey, Principal, Role, Tenant
from baton.services.audit import AuditService
from baton.services.ttl_cache import TtlCache
from baton.store.columns import utcnow
from baton.store.database import Database
from baton.store.pagination import Page, decode_cursor, page_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just created: the only moment its secret is known."""

    key: ApiKey
    secret: str


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """What the first start created (None when the database already had tenants)."""

    tenant: Tenant
    secret: str
    generated: bool
    key_file: Path | None


class TenancyService:
    """Tenants, keys and the authentication of callers."""

    def __init__(
        self,
        db: Database,
        audit: AuditService,
        *,
        cache_s: float = 0.0,
        failures: FailureWindow | None = None,
    ) -> None:
        """Serve tenancy over ``db``; ``failures`` counts failed sign-ins per address."""
        self._failures = failures or FailureWindow(0)
        self._db = db
        self._audit = audit
        self._principals: TtlCache[str, Principal] = TtlCache(cache_s)

    async def authenticate(self, secret: str | None, client: str | None = None) -> Principal:
        """The caller behind a bearer key; Unauthenticated when missing or unknown.

        Raises:
            RateLimited: When ``client`` (an address) failed too often lately.
        """
        if client is not None:
            wait = self._failures.blocked_for(client)
            if wait > 0:
                raise RateLimited("too many failed sign-ins from this address", wait)
            try:
                return await self._authenticate(secret)
            except Unauthenticated:
                self._failures.failed(client)
                raise
        return await self._authenticate(secret)

    async def _authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
        key_hash = hash_key(secret)

        async def load() -> Principal:
            async with self._db.transaction(write=False) as uow:
                principal = await uow.tenants.principal_for_hash(key_hash)
            if principal is None:
                raise Unauthenticated("invalid or revoked API key")
            return principal

        return await self._principals.get_or_load(key_hash, load)

    async def create_tenant(self, caller: Principal, name: str) -> Tenant:
        """Create a tenant (the API lets only superadmins reach this)."""
        async with self._db.transaction() as uow:
            tenant = await uow.tenants.create(name)
            await self._audit.append_in(
                uow,
                [admin_action(tenant.id, caller.key_id, "tenant.created", tenant.id, name=name)],
            )
        return tenant

    async def list_tenants(
        self, caller: Principal, *, cursor: str | None, limit: int
    ) -> Page[Tenant]:
        """All tenants for a superadmin; the caller's own tenant for anyone else."""
        only = None if caller.may(Role.SUPERADMIN) else caller.tenant_id
        async with self._db.transaction(write=False) as uow:
            items = await uow.tenants.list(after=decode_cursor(cursor), limit=limit + 1, only=only)
        return page_of(items, limit)

    async def issue_key(
        self, caller: Principal, tenant_id: str, *, name: str, role: Role
    ) -> IssuedKey:
        """Create a key in a tenant.

        Callers issue keys in their own tenant only (superadmins anywhere), never with a
        role above their own.
        """
        if not caller.may(Role.SUPERADMIN) and caller.tenant_id != tenant_id:
            raise NotFound(f"tenant {tenant_id} not found")
        if not caller.may(role):
            raise Forbidden(f"a {caller.role.value} may not issue a {role.value} key")
        async with self._db.transaction() as uow:
            if await uow.tenants.get(tenant_id) is None:
                raise NotFound(f"tenant {tenant_id} not found")
            secret = generate_key()
            key = await uow.tenants.create_key(
                tenant_id=tenant_id,
                name=name,
                role=role,
                prefix=display_prefix(secret),
                key_hash=hash_key(secret),
                created_by=caller.key_id,
            )
            event = admin_action(
                tenant_id, caller.key_id, "api_key.created", key.id, name=name, role=role.value
            )
            await self._audit.append_in(uow, [event])
        return IssuedKey(key=key, secret=secret)

    async def revoke_key(self, caller: Principal, key_id: str) -> ApiKey:
        """Revoke a key of the caller's tenant (any tenant for a superadmin)."""
        async with self._db.transaction() as uow:
            key = await uow.tenants.get_key(key_id)
            if key is None or (
                key.tenant_id != caller.tenant_id and not caller.may(Role.SUPERADMIN)
            ):
                raise NotFound(f"API key {key_id} not found")
            if key.role.rank > caller.role.rank:
                raise Forbidden(f"a {caller.role.value} may not revoke a {key.role.value} key")
            await uow.tenants.revoke_key(key_id, utcnow())
            revoked = await uow.tenants.get_key(key_id)
            event = admin_action(key.tenant_id, caller.key_id, "api_key.revoked", key_id)
            await self._audit.append_in(uow, [event])
        self._principals.drop()  # revoked here: refused by this process at once
        assert revoked is not None
        return revoked

    async def bootstrap(self, data_dir: Path, admin_key: str | None) -> BootstrapResult | None:
        """On an empty database create tenant ``default`` and a superadmin key.

        The key is ``admin_key`` when given; otherwise a generated one, written to
        ``data_dir/admin.key`` with mode 0600 and returned so the caller can print it once.
        """
        if admin_key is not None and len(admin_key) < 16:
            raise InvalidInput("BATON_ADMIN_KEY must be at least 16 characters")
        async with self._db.transaction() as uow:
            if await uow.tenants.count() > 0:
                return None
            tenant = await uow.tenants.create(DEFAULT_TENANT)
            user_id = await uow.tenants.create_user(tenant.id, "admin@localhost", Role.SUPERADMIN)
            secret = admin_key or generate_key()
            await uow.tenants.create_key(
                tenant_id=tenant.id,
                name="bootstrap superadmin",
                role=Role.SUPERADMIN,
                prefix=display_prefix(secret),
                key_hash=hash_key(secret),
                user_id=user_id,
            )
            await self._audit.append_in(
                uow, [admin_action(tenant.id, None, "tenant.created", tenant.id, bootstrap=True)]
            )
            key_file = None
            if admin_key is None:
                key_file = write_secret_file(data_dir / "admin.key", secret)
        return BootstrapResult(
            tenant=tenant, secret=secret, generated=admin_key is None, key_file=key_file
        )


def write_secret_file(path: Path, secret: str) -> Path:
    """Write a secret readable by its owner only (0600 from the first byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)
    return path
