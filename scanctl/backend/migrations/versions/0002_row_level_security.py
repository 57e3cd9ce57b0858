"""Row-level security on PostgreSQL: a transaction sees only its tenant's rows.

`Database.read/write(scope)` sets `scanctl.tenant_id` for each transaction; the policy
compares every row's tenant_id with it, for reads and writes alike. FORCE applies the
policy to the tables' owner too (superusers still bypass it: run the service as an
ordinary role). Other databases are left as they are: this revision does nothing there.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("events", "tickets", "devices", "policies", "policy_templates", "audit_log")
_CONDITION = "tenant_id = current_setting('scanctl.tenant_id', true)"


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgres():
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING ({_CONDITION}) WITH CHECK ({_CONDITION})"
        )


def downgrade() -> None:
    if not _is_postgres():
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
