"""The scans' ticket index: bytewise key on PostgreSQL, and the scan id (ties) last.

On a table without statistics PostgreSQL guesses every `=` as 1 row in 200, so the
(tenant, event, recorded_at) index, which the ticket queries' tenant and event
conditions match as well, looked as cheap as the ticket index and was taken whenever
its B-tree was a level shallower: every scan of the event read for each ticket. With
the key columns in the "C" collation (byte equality: the same rows), queries that
compare them the same way (`store.scans.ticket_key`) can use this index only.
SQLite has no "C" collation and keeps the plain key (its default collation, BINARY,
compares bytes already): there the index only gains the id.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_scans_tenant_event_ticket_at"
_BYTEWISE = 'COLLATE "C"'


def upgrade() -> None:
    op.drop_index(INDEX, table_name="scans")
    op.create_index(
        INDEX,
        "scans",
        ["tenant_id", "event_id", "ticket_id", "scanned_at_ms", "id"],
        unique=False,
        postgresql_ops={"tenant_id": _BYTEWISE, "event_id": _BYTEWISE, "ticket_id": _BYTEWISE},
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="scans")
    op.create_index(
        INDEX, "scans", ["tenant_id", "event_id", "ticket_id", "scanned_at_ms"], unique=False
    )
