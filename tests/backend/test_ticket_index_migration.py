"""Migration 0005 (the scans' ticket index): down restores 0004's index, up makes its key
bytewise on PostgreSQL (marker `postgres` there) and adds the scan id."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from scanctl.backend.db import create_database, downgrade, upgrade
from scanctl.backend.db.migrate import current_revision

INDEX = "ix_scans_tenant_event_ticket_at"
OLD_KEY = ["tenant_id", "event_id", "ticket_id", "scanned_at_ms"]
NEW_KEY = [*OLD_KEY, "id"]


def _key(engine: Engine) -> list[str | None]:
    (index,) = [i for i in inspect(engine).get_indexes("scans") if i["name"] == INDEX]
    return index["column_names"]


def test_0005_down_and_up_again_on_sqlite(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(database.engine)
        assert _key(database.engine) == NEW_KEY
        downgrade(database.engine, "0004")
        assert current_revision(database.engine) == "0004"
        assert _key(database.engine) == OLD_KEY
        upgrade(database.engine, "0005")
        assert _key(database.engine) == NEW_KEY
    finally:
        database.close()


@pytest.mark.postgres
def test_0005_down_and_up_again_on_postgres(postgres_url: str) -> None:
    database = create_database(postgres_url)

    def definition() -> str:
        with database.engine.connect() as conn:
            found = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": INDEX}
            ).scalar_one()
        return str(found).split(" USING btree ")[1]

    try:
        upgrade(database.engine)
        bytewise = (
            '(tenant_id COLLATE "C", event_id COLLATE "C", ticket_id COLLATE "C",'
            " scanned_at_ms, id)"
        )
        assert definition() == bytewise
        downgrade(database.engine, "0004")
        assert definition() == "(tenant_id, event_id, ticket_id, scanned_at_ms)"
        upgrade(database.engine, "0005")
        assert definition() == bytewise
    finally:
        database.close()
