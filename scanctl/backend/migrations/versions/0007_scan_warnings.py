"""Scans keep the warning a gate attached to an admission.

A gate whose offline manifest has expired admits with a warning when the venue chose
that (the policy's ``stale_manifest``) or a door supervisor overrode the choice on the
box; reconciliation uploads the warning with the scan, and it is stored with it.
Nullable: every scan before this migration, and every ordinary one after, has none.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("scans", sa.Column("warning", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table (batch mode); PostgreSQL in place.
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("warning")
