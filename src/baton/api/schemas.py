"""Request and response bodies of the HTTP API (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from baton.domain.agents import AgentStatus
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


class AuditEntryPublic(BaseModel):
    """One audit entry; ``payload`` is null once retention has expired it."""

    seq: int
    type: str
    created_at: datetime
    actor: str | None
    agent_id: str | None
    task_id: str | None
    payload_hash: str
    payload: dict[str, Any] | None
    nonce: str | None
    expired: bool


class VerificationPublic(BaseModel):
    """The result of verifying a tenant's audit log."""

    valid: bool
    checked: int
    checkpoints_verified: int
    first_invalid_seq: int | None = None
    reason: str | None = None
    payloads_expired: int
    failed_checkpoint_size: int | None = None


class CheckpointList(BaseModel):
    """The tenant's signed checkpoints and the key that verifies them."""

    items: list[dict[str, Any]]
    public_key: str
    key_id: str


class RetentionPolicy(StrictBody):
    """Body of PUT /api/audit/retention; null keeps everything."""

    audit_retention_days: int | None = Field(default=None, ge=1, le=36_500)


class RetentionPublic(BaseModel):
    """A tenant's retention policy and what it has expired so far."""

    audit_retention_days: int | None
    expired_below_seq: int
    payloads_expired: int
    last_run_at: datetime | None


AgentName = Field(min_length=1, max_length=100, pattern=r"\S")
ToolItem = str | dict[str, Any]


class AgentCreate(StrictBody):
    """Body of POST /api/agents; ``global`` (superadmin only) shares it with every tenant."""

    name: str = AgentName
    description: str = Field(default="", max_length=10_000)
    capabilities: list[str] = Field(default_factory=list, description="task types it serves")
    tools: list[ToolItem] = Field(default_factory=list, description="names or {name, grants}")
    config: dict[str, Any] = Field(description="provider, model, system_prompt, limits, ...")
    status: AgentStatus = AgentStatus.ACTIVE
    is_global: bool = Field(default=False, alias="global")


class AgentUpdate(StrictBody):
    """Body of PATCH /api/agents/{id}: a change to capabilities, tools or config is a version."""

    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"\S")
    description: str | None = Field(default=None, max_length=10_000)
    status: AgentStatus | None = None
    capabilities: list[str] | None = None
    tools: list[ToolItem] | None = None
    config: dict[str, Any] | None = Field(default=None, description="replaces the old one whole")


class AgentVersionPublic(BaseModel):
    """One immutable version of an agent."""

    version: int
    capabilities: list[str]
    tools: list[ToolItem]
    config: dict[str, Any]
    created_by: str | None
    created_at: datetime


class AgentPublic(BaseModel):
    """An agent with its current version."""

    id: str
    name: str
    description: str
    status: AgentStatus
    version: int
    capabilities: list[str]
    tools: list[ToolItem]
    config: dict[str, Any]
    is_global: bool = Field(alias="global")
    created_at: datetime
    updated_at: datetime


class ToolLimitsPublic(BaseModel):
    """A tool's timeout and output cap."""

    timeout_s: float
    max_output_bytes: int


class ToolPublic(BaseModel):
    """A tool agents may be granted: its schema, kind and limits."""

    name: str
    description: str
    parameters: dict[str, Any]
    kind: str
    limits: ToolLimitsPublic


class McpServerCreate(StrictBody):
    """Body of POST /api/mcp-servers."""

    name: str = Field(min_length=1, max_length=40)
    transport: str = Field(description="'stdio' (a local command) or 'http' (streamable HTTP)")
    command: str | None = Field(default=None, max_length=4096)
    args: list[str] = Field(default_factory=list, max_length=64)
    env: dict[str, str] = Field(default_factory=dict, description="write-only: never shown")
    url: str | None = Field(default=None, max_length=8192)
    enabled: bool = True


class McpServerPublic(BaseModel):
    """An MCP server as the API shows it: environment variable names, never values."""

    id: str
    name: str
    transport: str
    command: str | None
    args: list[str]
    env_keys: list[str]
    url: str | None
    enabled: bool
    created_at: datetime | None
    private_approved: bool = False


class TaskSubmit(StrictBody):
    """Body of POST /api/agents/tasks."""

    task_type: str = Field(min_length=1, max_length=100)
    input: dict[str, Any] = Field(description="{prompt} or {messages}, plus any extras")
    agent_id: str | None = Field(default=None, max_length=64)
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher runs first")
    max_retries: int = Field(default=3, ge=0, le=20)
    timeout_s: float | None = Field(default=None, gt=0, le=86_400)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    webhook_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="http(s) URL POSTed a signed task.completed/failed/cancelled event",
    )


class TaskPublic(BaseModel):
    """A task as the API shows it; ``result`` is ``{output, messages, usage}`` once done."""

    id: str
    agent_id: str | None
    agent_version: int | None
    task_type: str
    input: dict[str, Any]
    status: str
    priority: int
    result: dict[str, Any] | None
    error: str | None
    retry_count: int
    max_retries: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
