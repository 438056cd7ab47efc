"""Request and response bodies of the HTTP API (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from baton.domain.tenancy import Role

T = TypeVar("T")

Name = Field(min_length=1, max_length=200, pattern=r"\S")


class StrictBody(BaseModel):
    """Request bodies refuse unknown fields so typos fail loudly."""

    model_config = ConfigDict(extra="forbid")


class PageOut(BaseModel, Generic[T]):
    """A page of a list and the cursor of the next page."""

    items: list[T]
    next_cursor: str | None


class TenantCreate(StrictBody):
    """Body of POST /api/tenants."""

    name: str = Name


class TenantPublic(BaseModel):
    """A tenant as the API shows it."""

    id: str
    name: str
    created_at: datetime


class ApiKeyCreate(StrictBody):
    """Body of POST /api/tenants/{id}/api-keys."""

    name: str = Name
    role: Role = Role.DEVELOPER


class ApiKeyPublic(BaseModel):
    """An API key without its secret."""

    id: str
    tenant_id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyPublic):
    """A newly issued key: ``key`` is the secret, shown this once only."""

    key: str


class ProjectCreate(StrictBody):
    """Body of POST /api/projects."""

    name: str = Name
    description: str = Field(default="", max_length=10_000)
    ai_mode: str = Field(default="simple", description="'simple' or 'orchestrator'")
    ai_config: dict[str, Any] = Field(default_factory=dict)


class ProjectUpdate(StrictBody):
    """Body of PATCH /api/projects/{id}: every field optional."""

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(default=None, max_length=10_000)
    ai_mode: str | None = None
    ai_config: dict[str, Any] | None = None


class ProjectPublic(BaseModel):
    """A project as the API shows it."""

    id: str
    tenant_id: str
    name: str
    description: str
    ai_mode: str
    ai_config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
