"""Alerts kept in the journal's SQLite file, so unacknowledged ones survive a restart.

`AlertBook` saves every change here (table ``gate_alerts``, one row per cause) and, when
the daemon starts, takes back the alerts nobody acknowledged. Calls run on the daemon's
event loop; a write is one small statement.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["AlertStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gate_alerts (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    acknowledged INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
"""


class AlertStore:
    """Rows of (kind, key) -> the alert as a dict."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(_SCHEMA)

    def unacknowledged(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, key, alert) of every alert nobody acknowledged, oldest first."""
        rows = self._db.execute(
            "SELECT kind, key, body FROM gate_alerts WHERE acknowledged = 0"
        ).fetchall()
        found = [(kind, key, json.loads(body)) for kind, key, body in rows]
        found.sort(key=lambda row: int(row[2].get("at_ms", 0)))
        return found

    def save(self, kind: str, key: str, alert: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO gate_alerts (kind, key, body, acknowledged)"
            " VALUES (?, ?, ?, ?)",
            (kind, key, json.dumps(alert, separators=(",", ":")), int(bool(alert["acknowledged"]))),
        )

    def forget(self, kind: str, key: str) -> None:
        self._db.execute("DELETE FROM gate_alerts WHERE kind = ? AND key = ?", (kind, key))

    def close(self) -> None:
        self._db.close()
