"""The backend's SQLite file: commits never checkpoint; a background thread does."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from scanctl.backend.db import create_database, upgrade


def test_commits_leave_checkpoints_to_the_background_thread(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'backend.sqlite3'}")
    try:
        upgrade(database.engine)
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert database.checkpoints == 0
        database.start_upkeep()
        deadline = time.monotonic() + 10
        while database.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert database.checkpoints >= 1
    finally:
        database.close()
    assert database.checkpoints == 0  # stopped with the database
