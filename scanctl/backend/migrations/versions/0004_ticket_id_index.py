"""An index on tickets (tenant_id, id): QR generation finds a ticket by its id alone.

`GET /api/qr/generate/{ticketId}` without an eventId (attendee apps refresh their code
every few seconds) looks the ticket up in every event of the tenant; the primary key
(tenant_id, event_id, id) can only narrow that to the tenant, so each call read all of
the tenant's tickets. Plain `op.create_index`, so SQLite gets it too.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_tenant_id", "tickets", ["tenant_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tickets_tenant_id", table_name="tickets")
