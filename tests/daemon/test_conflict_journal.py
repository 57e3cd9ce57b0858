"""Conflicts and alerts in the gate's journal file: kept once, acknowledged once, and back
after a restart (a fresh object on the same SQLite file, as a restarted daemon opens it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanctl.daemon.alert_store import AlertStore
from scanctl.daemon.alerts import AlertBook, AlertKind
from scanctl.daemon.conflicts import ConflictJournal
from scanctl.daemon.events import EventBus
from scanctl.daemon.journal import Journal

ME = "7c0e3d52-4444-4d4d-8e8e-000000000004"
OTHER = "3b1f9e20-5555-4e5e-9f9f-000000000005"


def wire(conflict_id: str, ticket: str, my_scan: str) -> dict[str, Any]:
    """A conflict as GET /api/conflicts answers it."""
    return {
        "id": conflict_id,
        "kind": "same-code",
        "eventId": "e",
        "ticketId": ticket,
        "detectedAt": "2030-06-01T19:05:00Z",
        "firstScanId": "theirs",
        "admissions": [
            {
                "scanId": "theirs",
                "deviceId": OTHER,
                "gate": "west",
                "lane": None,
                "direction": "entry",
                "scannedAt": "2030-06-01T19:00:00Z",
                "decidedBy": "offline",
                "first": True,
            },
            {
                "scanId": my_scan,
                "deviceId": ME,
                "gate": "north",
                "lane": None,
                "direction": "entry",
                "scannedAt": "2030-06-01T19:01:00.250Z",
                "decidedBy": "offline",
                "first": False,
            },
        ],
    }


class Gate:
    """What a daemon opens on its journal file."""

    def __init__(self, path: Path, clock: list[int]) -> None:
        self.bus = EventBus()
        self.events = self.bus.subscribe()
        self.alerts = AlertBook(self.bus, lambda: clock[0])
        self.store = AlertStore(path)
        self.alerts.attach(self.store)
        self.conflicts = ConflictJournal(
            path, device_id=ME, bus=self.bus, alerts=self.alerts, clock_ms=lambda: clock[0]
        )

    def published(self) -> list[dict[str, Any]]:
        found = []
        while (event := self.events.get_nowait()) is not None:
            found.append(event)
        return found

    def close(self) -> None:
        self.conflicts.close()
        self.store.close()


def test_conflicts_are_kept_once_acknowledged_once_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gate.db"
    journal = Journal(path)
    my_scan = "0190f0a0-0000-7000-8000-000000000001"
    journal.close()
    clock = [1_000]
    gate = Gate(path, clock)
    fresh = gate.conflicts.record([wire("c1", "0000000a", my_scan), {"no": "id"}])
    assert [c["id"] for c in fresh] == ["c1"]
    (view,) = gate.conflicts.listing()
    assert view["ticket_id"] == "0000000a" and view["gates"] == ["north", "west"]
    assert [a["scanned_at_ms"] for a in view["admissions"]] == [1906570800000, 1906570860250]
    assert [(a["first"], a["mine"]) for a in view["admissions"]] == [(True, False), (False, True)]
    assert [e["type"] for e in gate.published()] == ["conflict", "alert"]
    assert gate.conflicts.record([wire("c1", "0000000a", my_scan)]) == []  # idempotent
    assert gate.conflicts.counts() == {"open": 1, "acknowledged": 0}
    (alert,) = gate.alerts.listing()
    assert alert["kind"] == "reconcile_conflict" and "ticket 0000000a" in alert["message"]
    gate.conflicts.record([wire("c2", "0000000b", "another")])
    gate.published()
    clock[0] = 2_000
    acked = gate.conflicts.acknowledge("c1", "tui:anna")
    assert acked is not None and (acked["acked_by"], acked["acked_at_ms"]) == ("tui:anna", 2_000)
    clock[0] = 3_000
    again = gate.conflicts.acknowledge("c1", "someone else")  # the first one stays
    assert again is not None and again["acked_by"] == "tui:anna"
    assert gate.conflicts.acknowledge("nope", "x") is None
    assert gate.published()[0]["type"] == "conflict"
    assert gate.conflicts.counts() == {"open": 1, "acknowledged": 1}  # metrics show these
    gate.close()

    restarted = Gate(path, clock)
    assert [c["id"] for c in restarted.conflicts.listing()] == ["c2", "c1"]  # open first
    assert restarted.conflicts.counts() == {"open": 1, "acknowledged": 1}
    (kept,) = restarted.alerts.listing()  # the open conflict's alert is back
    assert kept["kind"] == "reconcile_conflict" and "0000000b" in kept["message"]
    restarted.conflicts.acknowledge("c2", "tui:anna")
    assert restarted.alerts.listing()[0]["active"] is False  # none open: cleared
    restarted.close()


def test_unacknowledged_alerts_survive_a_restart_and_acknowledged_ones_do_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gate.db"
    clock = [5_000]
    gate = Gate(path, clock)
    stale = gate.alerts.raise_alert(AlertKind.MANIFEST_STALE, "manifest", "stale")
    seen = gate.alerts.raise_alert(AlertKind.OUTBOX_GROWING, "outbox", "growing")
    gate.alerts.acknowledge(seen.id)
    gate.alerts.raise_alert(AlertKind.MANIFEST_STALE, "manifest", "still stale")
    gate.close()

    restarted = Gate(path, clock)
    (back,) = restarted.alerts.listing()
    assert (back["id"], back["message"], back["active"]) == (stale.id, "still stale", True)
    newer = restarted.alerts.raise_alert(AlertKind.REPLAY_BURST, "north", "replays")
    assert newer.id != stale.id and newer.id != seen.id  # ids go on counting
    assert restarted.alerts.acknowledge(stale.id)
    restarted.close()
    assert [a["id"] for a in Gate(path, clock).alerts.listing()] == [newer.id]
