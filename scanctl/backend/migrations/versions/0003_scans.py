"""Scans (every decision, online and offline) and used nonces; row-level security on both.

On PostgreSQL the two tables get the same treatment 0002 gives the others: ENABLE +
FORCE row-level security and the tenant policy. Elsewhere only the tables are created.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("scans", "nonces")
_CONDITION = "tenant_id = current_setting('scanctl.tenant_id', true)"


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.String(length=8), nullable=True),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=8), nullable=False),
        sa.Column("scanned_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"],
            ["events.tenant_id", "events.id"],
            name="fk_scans_event",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_scans"),
    )
    op.create_index(
        "ix_scans_tenant_event_ticket_at",
        "scans",
        ["tenant_id", "event_id", "ticket_id", "scanned_at_ms"],
        unique=False,
    )
    op.create_index(
        "ix_scans_tenant_event_recorded",
        "scans",
        ["tenant_id", "event_id", "recorded_at_ms"],
        unique=False,
    )
    op.create_table(
        "nonces",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=16), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "nonce", name="pk_nonces"),
    )
    op.create_index(
        "ix_nonces_tenant_expires", "nonces", ["tenant_id", "expires_at_ms"], unique=False
    )
    if _is_postgres():
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING ({_CONDITION}) WITH CHECK ({_CONDITION})"
            )


def downgrade() -> None:
    if _is_postgres():
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.drop_index("ix_nonces_tenant_expires", table_name="nonces")
    op.drop_table("nonces")
    op.drop_index("ix_scans_tenant_event_recorded", table_name="scans")
    op.drop_index("ix_scans_tenant_event_ticket_at", table_name="scans")
    op.drop_table("scans")
