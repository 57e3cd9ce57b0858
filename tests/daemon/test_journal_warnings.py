"""The journal keeps an admission's warning, also in a journal made before the column."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from scanctl.daemon.journal import Journal
from scanctl.daemon.sync import outbox_payload
from tests.daemon.test_journal import entry

WARNING = "offline ticket data is out of date"

# The scans table as the first release of the daemon made it (no warning column).
_OLD_SCANS = """
CREATE TABLE scans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, scan_id TEXT NOT NULL UNIQUE, ticket_id TEXT,
    raw BLOB NOT NULL, symbology TEXT, scanner TEXT NOT NULL, gate TEXT NOT NULL,
    direction TEXT NOT NULL, reason TEXT NOT NULL, allowed INTEGER NOT NULL,
    decided_by TEXT NOT NULL, scanned_at_ms INTEGER NOT NULL, recorded_at_ms INTEGER NOT NULL,
    nonce TEXT, sent_at_ms INTEGER, sync_result TEXT
);
INSERT INTO scans (scan_id, ticket_id, raw, scanner, gate, direction, reason, allowed,
    decided_by, scanned_at_ms, recorded_at_ms)
VALUES ('old', '0a1b2c3d', x'00', 'north-1', 'north', 'entry', 'ADMITTED', 1, 'offline', 1, 1);
"""


def test_a_warning_is_journaled_listed_and_pushed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "gate.db")
    try:
        warned = replace(entry(), warning=WARNING)
        journal.append_sync(warned, entry("0a1b2c3e"))
        assert [row["warning"] for row in journal.recent()] == [None, WARNING]
        pushed = [outbox_payload(row) for row in journal.unsent()]
        assert [p["warning"] for p in pushed] == [WARNING, None]
    finally:
        journal.close()


def test_a_journal_from_before_warnings_gets_the_column_and_keeps_its_scans(
    tmp_path: Path,
) -> None:
    with sqlite3.connect(tmp_path / "gate.db") as conn:
        conn.executescript(_OLD_SCANS)
    journal = Journal(tmp_path / "gate.db")
    try:
        journal.append_sync(replace(entry(), warning=WARNING))
        old, new = journal.unsent()
        assert (old.scan_id, old.warning, new.warning) == ("old", None, WARNING)
    finally:
        journal.close()
