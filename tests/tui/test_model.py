"""The door's state: snapshots replace it, events move it, a snapshot corrects drift."""

from __future__ import annotations

from typing import Any

from scanctl.tui.messages import DaemonEvents, DaemonSnapshot
from scanctl.tui.model import DoorState


def decision(gate: str, allowed: bool, reason: str, scan_id: str) -> dict[str, Any]:
    return {
        "type": "decision",
        "scan_id": scan_id,
        "at_ms": 1,
        "gate": gate,
        "scanner": f"{gate}-1",
        "direction": "entry",
        "ticket_id": "0000000a",
        "allowed": allowed,
        "reason": reason,
    }


def test_events_count_on_top_of_a_snapshot_and_the_next_snapshot_wins() -> None:
    state = DoorState()
    gate = {"gate": "north", "admitted": 5, "denied": 1, "reasons": {"INVALID": 1}}
    status = {"totals": {"admitted": 5, "denied": 1}}
    state.apply_snapshot(status, [gate], [])
    state.apply_events(
        [
            decision("north", True, "ADMITTED", "a"),
            decision("north", False, "QR_ALREADY_USED", "b"),
            decision("east", True, "ADMITTED", "c"),
        ]
    )
    north = state.gates["north"]
    assert (north.admitted, north.denied) == (6, 2)
    assert north.reasons == {"INVALID": 1, "QR_ALREADY_USED": 1, "ADMITTED": 1}
    assert north.last is not None and north.last["scan_id"] == "b"
    assert state.gates["east"].admitted == 1
    assert state.totals == {"admitted": 7, "denied": 2}
    assert status == {"totals": {"admitted": 5, "denied": 1}}, "the snapshot is not mutated"
    assert [row["scan_id"] for row in state.recent] == ["c", "b", "a"]

    state.apply_snapshot({"totals": {"admitted": 6, "denied": 2}}, [{**gate, "admitted": 6}], [])
    assert state.gates["north"].admitted == 6
    assert "east" not in state.gates


def test_gate_alert_and_state_events() -> None:
    state = DoorState()
    state.apply_snapshot({"state": "running"}, [{"gate": "north"}], [])
    alert = {"type": "alert", "id": "1", "active": True, "acknowledged": False, "at_ms": 5}
    state.apply_events(
        [
            {"type": "gate", "gate": "north", "paused": True},
            alert,
            {"type": "state", "state": "draining"},
        ]
    )
    assert state.gates["north"].paused
    assert state.daemon_state == "draining"
    assert state.unacknowledged() == [alert]
    state.apply_events([{**alert, "acknowledged": True}])
    assert state.unacknowledged() == []
    assert len(state.alert_list()) == 1


def test_an_alert_without_an_id_is_still_shown() -> None:
    state = DoorState()
    state.apply_events([{"type": "alert", "kind": "journal_failed", "scanner": "north-1"}])
    (alert,) = state.unacknowledged()
    assert alert["id"] == "journal_failed:north-1"
    assert alert["severity"] == "critical"


def test_a_queued_snapshot_gives_way_to_a_newer_one_but_keeps_its_log_rows() -> None:
    plain, newer = DaemonSnapshot({}, [], []), DaemonSnapshot({}, [], [])
    seeded = DaemonSnapshot({}, [], [], recent=[])
    assert plain.can_replace(newer)
    assert plain.can_replace(seeded)
    assert not seeded.can_replace(newer)
    assert not plain.can_replace(DaemonEvents([]))
    assert not DaemonEvents([]).can_replace(DaemonEvents([]))


def test_a_bad_read_is_in_the_log_with_its_reason_and_counts_as_no_decision() -> None:
    state = DoorState()
    state.apply_snapshot({"totals": {"admitted": 0, "denied": 0}}, [], [])
    bad = {
        "type": "bad_read",
        "at_ms": 7,
        "scanner": "north-1",
        "gate": "north",
        "direction": "entry",
        "allowed": False,
        "reason": "SYMBOLOGY_NOT_ACCEPTED",
        "payload_sha256": "ab" * 32,
    }
    state.apply_events([bad, {**bad, "at_ms": 8}])
    rows = list(state.recent)
    assert [row["reason"] for row in rows] == ["SYMBOLOGY_NOT_ACCEPTED"] * 2
    assert rows[0]["decided_by"] == "bad read" and rows[0]["allowed"] is False
    assert len({row["scan_id"] for row in rows}) == 2  # each read its own line
    assert "north" not in state.gates and state.totals == {"admitted": 0, "denied": 0}


def test_exits_are_never_entries_and_inside_is_never_negative() -> None:
    state = DoorState()
    exit_lane = {"name": "exit-1", "direction": "exit"}
    state.apply_snapshot(
        {"totals": {"admitted": 12, "denied": 1, "inside": {"": -2, "VIP": 3}}},
        [
            {"gate": "north", "admitted": 8, "denied": 1, "reasons": {"ADMITTED": 8}},
            {"gate": "exit", "admitted": 4, "reasons": {"EXITED": 4}, "scanners": [exit_lane]},
        ],
        [],
    )
    counts = state.counts()
    assert (counts.entries, counts.exits, counts.denied) == (8, 4, 1)
    assert counts.has_exits and counts.inside == {"": 0, "VIP": 3}
    assert state.gates["exit"].entries == 0 and state.gates["exit"].has_exit_lane
    assert not state.gates["north"].has_exit_lane


def test_after_a_restart_the_journal_gives_the_last_decision() -> None:
    state = DoorState()
    row = {
        "scan_id": "s1",
        "gate": "north",
        "scanner": "north-1",
        "ticket_id": "0000000a",
        "reason": "ADMITTED",
        "allowed": True,
        "scanned_at_ms": 5,
        "decided_by": "offline",
    }
    state.apply_snapshot({}, [{"gate": "north", "admitted": 1, "last": None}], [], [row])
    last = state.gates["north"].last
    assert last is not None and (last["ticket_id"], last["scanner"]) == ("0000000a", "north-1")
