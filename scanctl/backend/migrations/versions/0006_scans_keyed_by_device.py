"""Scans keyed by (tenant, device, id): a scan id names a scan of the device that made it.

Gates choose their scans' ids (UUIDv7, made when the code was read) and send them with
online scans and offline uploads alike. Keyed tenant-wide, a gate that sent an id
another gate had used was told "duplicate" and its scan was dropped (and the answer
named the other gate's ticket). Keyed by device, each gate's ids are its own.

SQLite cannot alter a primary key: the table is rebuilt (batch mode), indexes included.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import SAWarning

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rekey(columns: list[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE scans DROP CONSTRAINT pk_scans")
        op.create_primary_key("pk_scans", "scans", columns)
        return
    # The copy is built from the reflected table, whose old key SQLAlchemy warns it
    # replaces: replacing it is the point.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_scans' specifies", SAWarning)
        with op.batch_alter_table("scans", recreate="always") as batch:
            batch.create_primary_key("pk_scans", columns)


def upgrade() -> None:
    _rekey(["tenant_id", "device_id", "id"])


def downgrade() -> None:
    # Ids two devices share would collide: keep the earliest recorded of each.
    op.execute(
        "DELETE FROM scans WHERE EXISTS (SELECT 1 FROM scans AS older"
        " WHERE older.tenant_id = scans.tenant_id AND older.id = scans.id"
        " AND (older.recorded_at_ms, older.device_id) < (scans.recorded_at_ms, scans.device_id))"
    )
    _rekey(["tenant_id", "id"])
