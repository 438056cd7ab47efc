"""MCP servers per tenant (stdio command or HTTP URL), unique by name in the tenant.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.store.columns import JsonDoc, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mcp_servers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("transport", sa.String(10), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("args", JsonDoc, nullable=False),
        sa.Column("env", JsonDoc, nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mcp_servers"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_mcp_servers_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("tenant_id", "name", name="uq_mcp_servers_tenant_name"),
    )
    op.create_index("ix_mcp_servers_tenant_id_id", "mcp_servers", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_mcp_servers_tenant_id_id", table_name="mcp_servers")
    op.drop_table("mcp_servers")
