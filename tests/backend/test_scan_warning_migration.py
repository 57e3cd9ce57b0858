"""Migration 0007 (scans.warning): down to 0006 drops only the column, up brings it back."""

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
    " reason, allowed, decided_by, scanned_at_ms, recorded_at_ms, late)"
    " VALUES ('t', 's1', 'e', '0000000a', 'd', 'north', 'entry', 'x', 'ADMITTED', 1,"
    " 'offline', 1, 2, 0)"
)


def _columns(engine: object) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("scans")}


def test_0007_down_and_up_again_keeps_the_scans(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(database.engine)
        assert "warning" in _columns(database.engine)
        with database.engine.begin() as conn:
            conn.execute(text(_EVENT))
            conn.execute(text(_SCAN))
            conn.execute(text("UPDATE scans SET warning = 'stale' WHERE id = 's1'"))
        downgrade(database.engine, "0006")
        assert current_revision(database.engine) == "0006"
        assert "warning" not in _columns(database.engine)
        upgrade(database.engine, "0007")
        assert current_revision(database.engine) == "0007"
        with database.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, warning FROM scans")).all()
        assert [tuple(r) for r in rows] == [("s1", None)]
        names = {i["name"] for i in inspect(database.engine).get_indexes("scans")}
        assert "ix_scans_tenant_event_ticket_at" in names
    finally:
        database.close()
