"""Durable agent tasks: the queue table, task events (for SSE) and the tool-call journal.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.store.columns import JsonDoc, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SUBMITTED = sa.text("status = 'submitted'")
RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_table(
        "agent_tasks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=True),
        sa.Column("agent_version", sa.Integer(), nullable=True),
        sa.Column("task_type", sa.String(100), nullable=False),
        sa.Column("input", JsonDoc, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("result", JsonDoc, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("crash_count", sa.Integer(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("agent_cap", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("available_at", UtcDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_epoch", sa.Integer(), nullable=False),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.String(2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agent_tasks"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_agent_tasks_idempotency"),
    )
    op.create_index("ix_agent_tasks_agent_status", "agent_tasks", ["agent_id", "status"])
    op.create_index("ix_agent_tasks_status_created", "agent_tasks", ["status", "created_at"])
    op.create_index("ix_agent_tasks_tenant_id_id", "agent_tasks", ["tenant_id", "id"])
    op.create_index(
        "ix_agent_tasks_claimable",
        "agent_tasks",
        ["rank", "available_at"],
        sqlite_where=SUBMITTED,
        postgresql_where=SUBMITTED,
    )
    op.create_index(
        "ix_agent_tasks_leases",
        "agent_tasks",
        ["lease_expires_at"],
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    op.create_table(
        "task_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_events"),
    )
    op.create_index("ix_task_events_tenant_id_id", "task_events", ["tenant_id", "id"])
    op.create_index("ix_task_events_task_id_id", "task_events", ["task_id", "id"])
    op.create_table(
        "task_tool_journal",
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("call_key", sa.String(64), nullable=False),
        sa.Column("result", JsonDoc, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "call_key", name="pk_task_tool_journal"),
    )


def downgrade() -> None:
    op.drop_table("task_tool_journal")
    op.drop_index("ix_task_events_task_id_id", table_name="task_events")
    op.drop_index("ix_task_events_tenant_id_id", table_name="task_events")
    op.drop_table("task_events")
    for index in (
        "ix_agent_tasks_leases",
        "ix_agent_tasks_claimable",
        "ix_agent_tasks_tenant_id_id",
        "ix_agent_tasks_status_created",
        "ix_agent_tasks_agent_status",
    ):
        op.drop_index(index, table_name="agent_tasks")
    op.drop_table("agent_tasks")
