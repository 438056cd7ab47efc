"""Projects get ai_mode ('simple' | 'orchestrator') and ai_config.

Existing projects become 'simple' with an empty configuration. The downgrade removes
exactly these two columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.store.columns import JsonDoc

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column("ai_mode", sa.String(20), server_default=sa.text("'simple'"), nullable=False)
        )
        batch.add_column(
            sa.Column("ai_config", JsonDoc, server_default=sa.text("'{}'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("ai_config")
        batch.drop_column("ai_mode")
