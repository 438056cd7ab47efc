"""The schema as typed SQLAlchemy tables. Alembic migrations are the only schema writer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from baton.store.columns import JsonDoc, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table; fixed constraint names keep migrations portable."""

    metadata = MetaData(naming_convention=NAMING)


class TenantRow(Base):
    """A tenant."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UserRow(Base):
    """A person (or service) inside a tenant."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_users_tenant_email"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ProjectRow(Base):
    """A project, the home of conversations."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_projects_tenant_name"),
        Index("ix_projects_tenant_id_id", "tenant_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    ai_mode: Mapped[str] = mapped_column(String(20), server_default=text("'simple'"))
    ai_config: Mapped[dict[str, Any]] = mapped_column(JsonDoc, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntryRow(Base):
    """One entry of a tenant's append-only audit log (a Merkle leaf)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_tenant_agent_time", "tenant_id", "agent_id", "created_at"),
        Index("ix_audit_entries_tenant_task", "tenant_id", "task_id"),
        Index("ix_audit_entries_tenant_type_time", "tenant_id", "entry_type", "created_at"),
        Index("ix_audit_entries_tenant_time", "tenant_id", "created_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36))
    payload_hash: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))


class AuditPayloadRow(Base):
    """The payload of an audit entry; deletable by retention only, leaving the leaf intact."""

    __tablename__ = "audit_payloads"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class AuditCheckpointRow(Base):
    """A signed (tenant, size, root, time): never deleted."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_tenant_size", "tenant_id", "size"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)


class AuditHeadRow(Base):
    """Per tenant: the log's size and Merkle frontier; its row lock serialises appends."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[list[str]] = mapped_column(JsonDoc)
    last_created_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    checkpoint_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditPolicyRow(Base):
    """Per tenant: the retention policy and how far it has deleted payloads."""

    __tablename__ = "audit_policies"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    watermark: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    expired: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditRetentionGateRow(Base):
    """Holds a row only inside a retention transaction: the triggers let deletes through then."""

    __tablename__ = "audit_retention_gate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class AgentRow(Base):
    """A registered agent. ``tenant_id`` is the owner; ``is_global`` shares it with all tenants."""

    __tablename__ = "agents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_agents_tenant_name"),
        Index("ix_agents_tenant_id_id", "tenant_id", "id"),
        Index("ix_agents_global_id", "is_global", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    is_global: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(String(20))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgentVersionRow(Base):
    """One immutable version of an agent (append-only: tasks record the version they ran)."""

    __tablename__ = "agent_versions"

    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    capabilities: Mapped[list[str]] = mapped_column(JsonDoc)
    tools: Mapped[list[Any]] = mapped_column(JsonDoc)
    config: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgentCapabilityRow(Base):
    """The current version's capabilities, one row each, for indexed matching and filtering.

    ``scope`` is the owning tenant's id, or ``*`` for a global agent, so that "this tenant's
    or a global agent with capability c" is two equality probes of one index.
    """

    __tablename__ = "agent_capabilities"
    __table_args__ = (Index("ix_agent_capabilities_scope_capability", "scope", "capability"),)

    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    capability: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(36))


class McpServerRow(Base):
    """An MCP server of a tenant, whose tools agents call as ``mcp.<name>.<tool>``."""

    __tablename__ = "mcp_servers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_mcp_servers_tenant_name"),
        Index("ix_mcp_servers_tenant_id_id", "tenant_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    transport: Mapped[str] = mapped_column(String(10))
    command: Mapped[str | None] = mapped_column(Text)
    args: Mapped[list[str]] = mapped_column(JsonDoc)
    env: Mapped[dict[str, str]] = mapped_column(JsonDoc)
    url: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A superadmin registered it: its URL may reach private addresses.
    private_approved: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


_SUBMITTED = text("status = 'submitted'")
_RUNNING = text("status = 'running'")


class AgentTaskRow(Base):
    """A task on the durable queue, with its lease bookkeeping."""

    __tablename__ = "agent_tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_agent_tasks_idempotency"),
        Index("ix_agent_tasks_agent_status", "agent_id", "status"),
        Index("ix_agent_tasks_status_created", "status", "created_at"),
        Index("ix_agent_tasks_tenant_id_id", "tenant_id", "id"),
        Index(
            "ix_agent_tasks_claimable",
            "rank",
            "available_at",
            sqlite_where=_SUBMITTED,
            postgresql_where=_SUBMITTED,
        ),
        Index(
            "ix_agent_tasks_tenant_claimable",
            "tenant_id",
            "rank",
            "available_at",
            sqlite_where=_SUBMITTED,
            postgresql_where=_SUBMITTED,
        ),
        Index(
            "ix_agent_tasks_leases",
            "lease_expires_at",
            sqlite_where=_RUNNING,
            postgresql_where=_RUNNING,
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(36))
    agent_version: Mapped[int | None] = mapped_column(Integer)
    task_type: Mapped[str] = mapped_column(String(100))
    input: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)  # -priority: the claim order is ascending
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    error: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(Integer)
    max_retries: Mapped[int] = mapped_column(Integer)
    crash_count: Mapped[int] = mapped_column(Integer)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    agent_cap: Mapped[int | None] = mapped_column(Integer)  # the agent's max_concurrency
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    available_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_epoch: Mapped[int] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancel_requested: Mapped[bool] = mapped_column(Boolean)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))


class TaskEventRow(Base):
    """An event of a task (status change or step): the SSE stream reads these by id."""

    __tablename__ = "task_events"
    __table_args__ = (
        Index("ix_task_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_task_events_task_id_id", "task_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(36))
    task_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ToolJournalRow(Base):
    """A completed tool call of a task, reused when a retried attempt repeats the call."""

    __tablename__ = "task_tool_journal"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookDeliveryRow(Base):
    """A webhook call owed for a finished task (the outbox), with its retry bookkeeping."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    task_id: Mapped[str] = mapped_column(String(36))
    url: Mapped[str] = mapped_column(String(2000))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RateWindowRow(Base):
    """Requests counted for a rate limit key in one time window."""

    __tablename__ = "rate_windows"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
