"""The agent registry: agents, their immutable versions, and the current capabilities.

``agent_versions`` is append-only by convention (the store never updates or deletes a
version; tasks record the version they ran). ``agent_capabilities`` mirrors the current
version's capabilities, one row each, indexed by (scope, capability) where scope is the
owning tenant's id or ``*`` for a global agent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.store.columns import JsonDoc, UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("is_global", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_agents_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant_id", "name", name="uq_agents_tenant_name"),
    )
    op.create_index("ix_agents_tenant_id_id", "agents", ["tenant_id", "id"])
    op.create_index("ix_agents_global_id", "agents", ["is_global", "id"])
    op.create_table(
        "agent_versions",
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("capabilities", JsonDoc, nullable=False),
        sa.Column("tools", JsonDoc, nullable=False),
        sa.Column("config", JsonDoc, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "version", name="pk_agent_versions"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_agent_versions_agent_id_agents",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "agent_capabilities",
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("capability", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "capability", name="pk_agent_capabilities"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_agent_capabilities_agent_id_agents",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_agent_capabilities_scope_capability", "agent_capabilities", ["scope", "capability"]
    )


def downgrade() -> None:
    op.drop_index("ix_agent_capabilities_scope_capability", table_name="agent_capabilities")
    op.drop_table("agent_capabilities")
    op.drop_table("agent_versions")
    op.drop_index("ix_agents_global_id", table_name="agents")
    op.drop_index("ix_agents_tenant_id_id", table_name="agents")
    op.drop_table("agents")
