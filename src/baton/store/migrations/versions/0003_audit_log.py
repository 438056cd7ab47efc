"""Tamper-evident audit log: entries, payloads, checkpoints, heads, retention policy.

Triggers make the entry, payload and checkpoint tables append-only on both databases
(PostgreSQL triggers are ENABLE ALWAYS so even replication-role sessions hit them). The
only way through is retention deleting payloads while it holds a row in
``audit_retention_gate`` inside its own transaction.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.store.columns import JsonDoc, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

GUARDED = ("audit_entries", "audit_payloads", "audit_checkpoints")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION baton_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_payloads'
     AND EXISTS (SELECT 1 FROM audit_retention_gate) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def _create_tables() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_type", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.String(36), nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name="pk_audit_entries"),
    )
    op.create_index(
        "ix_audit_entries_tenant_agent_time",
        "audit_entries",
        ["tenant_id", "agent_id", "created_at"],
    )
    op.create_index("ix_audit_entries_tenant_task", "audit_entries", ["tenant_id", "task_id"])
    op.create_index(
        "ix_audit_entries_tenant_type_time",
        "audit_entries",
        ["tenant_id", "entry_type", "created_at"],
    )
    op.create_index("ix_audit_entries_tenant_time", "audit_entries", ["tenant_id", "created_at"])
    op.create_table(
        "audit_payloads",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name="pk_audit_payloads"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoints"),
    )
    op.create_index("ix_audit_checkpoints_tenant_size", "audit_checkpoints", ["tenant_id", "size"])
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", JsonDoc, nullable=False),
        sa.Column("last_created_at", UtcDateTime(), nullable=True),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_audit_heads"),
    )
    op.create_table(
        "audit_policies",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("watermark", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("expired", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_run_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_audit_policies"),
    )
    op.create_table(
        "audit_retention_gate",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_retention_gate"),
    )


def _postgres_guards() -> None:
    op.execute(PG_FUNCTION)
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION baton_audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION baton_audit_append_only()"
        )
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")


def _sqlite_guards() -> None:
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on {table} refused'); END"
        )
        gate = (
            " WHEN NOT EXISTS (SELECT 1 FROM audit_retention_gate)"
            if table == "audit_payloads"
            else ""
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}{gate} BEGIN "
            f"SELECT RAISE(ABORT, 'audit log is append-only: DELETE on {table} refused'); END"
        )


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS baton_audit_append_only()")
    else:
        for table in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    for table in (
        "audit_retention_gate",
        "audit_policies",
        "audit_heads",
        "audit_checkpoints",
        "audit_payloads",
    ):
        op.drop_table(table)
    op.drop_index("ix_audit_entries_tenant_time", table_name="audit_entries")
    op.drop_index("ix_audit_entries_tenant_type_time", table_name="audit_entries")
    op.drop_index("ix_audit_entries_tenant_task", table_name="audit_entries")
    op.drop_index("ix_audit_entries_tenant_agent_time", table_name="audit_entries")
    op.drop_table("audit_entries")
