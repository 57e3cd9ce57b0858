"""Double entries this gate took part in, as the backend reports them, kept in the journal.

The backend finds conflicts (`core.conflicts`) across every gate's uploads; this gate
asks for the ones that involve its own scans (`sync.BackendLink.check_conflicts`) and
keeps each here, by its stable id, in the journal's SQLite file (table
``gate_conflicts``), so a restart forgets none and a supervisor's acknowledgement (who,
when) sticks. Each new conflict is published on the event bus (``{"type": "conflict"}``)
and the open ones keep one alert raised. All calls run on the daemon's event loop.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from scanctl.core import ms_of_iso
from scanctl.daemon.alerts import AlertBook, AlertKind, Severity
from scanctl.daemon.events import EventBus

__all__ = ["SCHEMA", "ConflictJournal", "conflict_view"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS gate_conflicts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    body TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    acked_by TEXT,
    acked_at_ms INTEGER
) WITHOUT ROWID;
"""

ALERT_KEY = "conflicts"


def _ms(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return ms_of_iso(value)
        except ValueError:
            return None
    return None


def conflict_view(
    wire: Mapping[str, Any], device_id: str, lanes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The backend's conflict (camelCase) as the local API shows it: snake_case, times
    in ms, this gate's own admissions marked ``mine`` with their lane."""
    lanes = lanes or {}
    admissions = []
    for item in wire.get("admissions") or []:
        mine = item.get("deviceId") == device_id
        scan_id = str(item.get("scanId", ""))
        admissions.append(
            {
                "scan_id": scan_id,
                "device_id": item.get("deviceId"),
                "gate": item.get("gate"),
                "lane": item.get("lane") or (lanes.get(scan_id) if mine else None),
                "direction": item.get("direction", "entry"),
                "scanned_at_ms": _ms(item.get("scannedAt")),
                "decided_by": item.get("decidedBy"),
                "first": bool(item.get("first")),
                "mine": mine,
            }
        )
    return {
        "id": str(wire.get("id", "")),
        "kind": str(wire.get("kind", "")),
        "event_id": wire.get("eventId"),
        "ticket_id": str(wire.get("ticketId", "")),
        "first_scan_id": wire.get("firstScanId"),
        "detected_at_ms": _ms(wire.get("detectedAt")),
        "gates": sorted({str(a["gate"] or a["device_id"]) for a in admissions}),
        "admissions": admissions,
    }


class ConflictJournal:
    """The gate's conflicts: stored once per id, listed open first, acknowledged once."""

    def __init__(
        self,
        path: Path,
        *,
        device_id: str,
        bus: EventBus,
        alerts: AlertBook,
        clock_ms: Callable[[], int],
    ) -> None:
        self.device_id = device_id
        self._bus = bus
        self._alerts = alerts
        self._clock_ms = clock_ms
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(SCHEMA)
        self._refresh_alert()

    def close(self) -> None:
        self._db.close()

    def _lanes(self, scan_ids: Iterable[str]) -> dict[str, str]:
        """The lane (scanner) of this gate's own scans, from its scan journal."""
        wanted = sorted(set(scan_ids))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        try:
            rows = self._db.execute(
                f"SELECT scan_id, scanner FROM scans WHERE scan_id IN ({marks})",  # noqa: S608
                wanted,
            ).fetchall()
        except sqlite3.OperationalError:  # no scan journal in this file (tools, tests)
            return {}
        return {str(scan_id): str(scanner) for scan_id, scanner in rows}

    def record(self, conflicts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Store what the backend reported; returns (and publishes) the new ones."""
        wires = [c for c in conflicts if c.get("id")]
        own = [
            str(a.get("scanId"))
            for c in wires
            for a in c.get("admissions") or []
            if a.get("deviceId") == self.device_id
        ]
        lanes = self._lanes(own)
        known = {row[0] for row in self._db.execute("SELECT id FROM gate_conflicts")}
        now = self._clock_ms()
        fresh: list[dict[str, Any]] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for wire in wires:
                view = conflict_view(wire, self.device_id, lanes)
                body = json.dumps(view, separators=(",", ":"))
                if view["id"] in known:
                    self._db.execute(
                        "UPDATE gate_conflicts SET body = ? WHERE id = ?", (body, view["id"])
                    )
                    continue
                self._db.execute(
                    "INSERT INTO gate_conflicts (id, kind, ticket_id, body, first_seen_ms)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (view["id"], view["kind"], view["ticket_id"], body, now),
                )
                known.add(view["id"])
                fresh.append(self._full(view, now, None, None))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        for view in fresh:
            self._bus.publish({"type": "conflict", **view})
        if fresh:
            self._refresh_alert()
        return fresh

    @staticmethod
    def _full(
        view: dict[str, Any], first_seen_ms: int, acked_by: str | None, acked_at_ms: int | None
    ) -> dict[str, Any]:
        return {
            **view,
            "first_seen_ms": first_seen_ms,
            "acknowledged": acked_at_ms is not None,
            "acked_by": acked_by,
            "acked_at_ms": acked_at_ms,
        }

    def listing(self) -> list[dict[str, Any]]:
        """Open first, then newest first."""
        rows = self._db.execute(
            "SELECT body, first_seen_ms, acked_by, acked_at_ms FROM gate_conflicts"
            " ORDER BY acked_at_ms IS NOT NULL, first_seen_ms DESC, id"
        ).fetchall()
        return [self._full(json.loads(body), seen, by, at) for body, seen, by, at in rows]

    def get(self, conflict_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body, first_seen_ms, acked_by, acked_at_ms FROM gate_conflicts WHERE id = ?",
            (conflict_id,),
        ).fetchone()
        if row is None:
            return None
        body, seen, by, at = row
        return self._full(json.loads(body), seen, by, at)

    def acknowledge(self, conflict_id: str, by: str) -> dict[str, Any] | None:
        """Record who acknowledged it and when (the first acknowledgement stays)."""
        self._db.execute(
            "UPDATE gate_conflicts SET acked_by = ?, acked_at_ms = ?"
            " WHERE id = ? AND acked_at_ms IS NULL",
            (by, self._clock_ms(), conflict_id),
        )
        view = self.get(conflict_id)
        if view is not None:
            self._bus.publish({"type": "conflict", **view})
            self._refresh_alert()
        return view

    def counts(self) -> dict[str, int]:
        """Open and acknowledged conflicts (status, metrics)."""
        opened, acked = self._db.execute(
            "SELECT COALESCE(SUM(acked_at_ms IS NULL), 0),"
            " COALESCE(SUM(acked_at_ms IS NOT NULL), 0) FROM gate_conflicts"
        ).fetchone()
        return {"open": int(opened), "acknowledged": int(acked)}

    def _refresh_alert(self) -> None:
        """One alert while conflicts are open, naming the latest; cleared when none is."""
        opened = self.counts()["open"]
        if opened == 0:
            self._alerts.clear(AlertKind.RECONCILE_CONFLICT, ALERT_KEY)
            return
        latest = self.listing()[0]
        self._alerts.raise_alert(
            AlertKind.RECONCILE_CONFLICT,
            ALERT_KEY,
            f"{opened} double entr{'y' if opened == 1 else 'ies'} with other gates to review:"
            f" latest ticket {latest['ticket_id']} ({latest['kind']}) at"
            f" {', '.join(latest['gates'])}",
            severity=Severity.WARNING,
        )
