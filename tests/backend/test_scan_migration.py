"""Migration 0003 (scans, nonces): down to 0002 removes exactly its tables, up restores them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from scanctl.backend.db import create_database, downgrade, upgrade
from scanctl.backend.db.migrate import current_revision


def test_0003_down_and_up_again(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(database.engine)
        assert {"scans", "nonces"} <= set(inspect(database.engine).get_table_names())
        downgrade(database.engine, "0002")
        assert current_revision(database.engine) == "0002"
        names = set(inspect(database.engine).get_table_names())
        assert not {"scans", "nonces"} & names
        assert {"events", "tickets", "devices"} <= names
        upgrade(database.engine, "0003")
        assert current_revision(database.engine) == "0003"
        indexes = {i["name"] for i in inspect(database.engine).get_indexes("scans")}
        assert indexes == {"ix_scans_tenant_event_ticket_at", "ix_scans_tenant_event_recorded"}
    finally:
        database.close()
