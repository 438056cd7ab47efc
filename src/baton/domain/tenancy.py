"""Tenants, roles and the authenticated caller."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """What a key may do; each role includes every role below it."""

    VIEWER = "viewer"
    DEVELOPER = "developer"
    ADMIN = "admin"
    SUPERADMIN = "superadmin"

    @property
    def rank(self) -> int:
        """Position in the order viewer < developer < admin < superadmin."""
        return _RANK[self]

    def includes(self, other: Role) -> bool:
        """True when this role may do everything ``other`` may."""
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.ADMIN: 2, Role.SUPERADMIN: 3}

DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class Tenant:
    """An isolated space: every object belongs to exactly one tenant."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key (its secret is never kept, only a hash and a display prefix)."""

    id: str
    tenant_id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request, as established from its API key."""

    key_id: str
    tenant_id: str
    role: Role

    def may(self, needed: Role) -> bool:
        """True when this caller's role covers ``needed``."""
        return self.role.includes(needed)
