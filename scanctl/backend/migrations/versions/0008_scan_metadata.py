"""Scans keep the client's ``metadata`` object.

The original scanning service took an optional ``metadata`` object with a scan; its
clients still send one. It is kept with the scan as compact JSON (at most 2 KiB, checked
by the API). Nullable: every scan before this migration, and every one sent without it,
has none.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("scans", sa.Column("client_metadata", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table (batch mode); PostgreSQL in place.
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("client_metadata")
