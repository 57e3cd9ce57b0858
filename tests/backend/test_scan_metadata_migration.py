"""Migration 0008 (scans.client_metadata): down to 0007 drops only the column, up brings
it back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from scanctl.backend.db import create_database, downgrade, upgrade
from scanctl.backend.db.migrate import current_revision

_EVENT = (
    "INSERT INTO events (tenant_id, id, venue_id, name, starts_at_ms, ends_at_ms, ticket_seq,"
    " created_at_ms, updated_at_ms) VALUES ('t', 'e', 'v', 'night', 0, 1, 0, 0, 0)"
)
_SCAN = (
    "INSERT INTO scans (tenant_id, id, event_id, ticket_id, device_id, gate, direction, raw,"
    " reason, allowed, decided_by, scanned_at_ms, recorded_at_ms, late, warning,"
    " client_metadata) VALUES ('t', 's1', 'e', '0000000a', 'd', 'north', 'entry', 'x',"
    " 'ADMITTED', 1, 'online', 1, 2, 0, 'stale', '{\"app\":\"door\"}')"
)


def _columns(engine: object) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("scans")}


def test_0008_up_down_up_keeps_the_scans_and_their_warnings(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(database.engine)
        assert current_revision(database.engine) == "0008"
        with database.engine.begin() as conn:
            conn.execute(text(_EVENT))
            conn.execute(text(_SCAN))
        downgrade(database.engine, "0007")
        assert current_revision(database.engine) == "0007"
        assert "client_metadata" not in _columns(database.engine)
        assert "warning" in _columns(database.engine)
        upgrade(database.engine)
        assert current_revision(database.engine) == "0008"
        with database.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, warning, client_metadata FROM scans")).all()
        assert [tuple(r) for r in rows] == [("s1", "stale", None)]
        names = {i["name"] for i in inspect(database.engine).get_indexes("scans")}
        assert "ix_scans_tenant_event_ticket_at" in names
    finally:
        database.close()
