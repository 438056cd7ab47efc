"""Claims fair across tenants: an index to seek each tenant's claimable tasks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SUBMITTED = sa.text("status = 'submitted'")


def upgrade() -> None:
    op.create_index(
        "ix_agent_tasks_tenant_claimable",
        "agent_tasks",
        ["tenant_id", "rank", "available_at"],
        sqlite_where=_SUBMITTED,
        postgresql_where=_SUBMITTED,
    )


def downgrade() -> None:
    op.drop_index("ix_agent_tasks_tenant_claimable", table_name="agent_tasks")
