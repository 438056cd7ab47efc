"""MCP servers record whether a superadmin registered them (private addresses allowed).

Existing servers are not approved: those at private or loopback addresses then need the
operator setting ``BATON_MCP_ALLOW_PRIVATE`` to be reached.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mcp_servers") as batch:
        batch.add_column(
            sa.Column(
                "private_approved", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("mcp_servers") as batch:
        batch.drop_column("private_approved")
