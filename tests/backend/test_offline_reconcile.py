"""POST /api/offline/reconcile on a real server: exactly once, conflicts on every side, crashes."""

from __future__ import annotations

import itertools
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend.helpers import ServerProcess, start_server, wait_for
from tests.backend.offline_kit import (
    SCANNED_MS,
    Venue,
    admin,
    make_venue,
    offline_scan,
    push,
    register_gate,
    sign_codes,
)

HOUR_MS = 3_600_000


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def backdate_registration(server: ServerProcess, device_id: str, at_ms: int) -> None:
    """Make a device registered long ago (scans older than its registration are refused)."""
    with sqlite3.connect(db_path(server)) as conn:
        conn.execute("UPDATE devices SET created_at_ms = ? WHERE id = ?", (at_ms, device_id))
    conn.close()


def db_path(server: ServerProcess) -> Path:
    return Path(server.env["SCANCTL_DATA_DIR"]) / "backend.sqlite3"


def stored(server: ServerProcess, event: str) -> list[tuple[Any, ...]]:
    """(id, device_id, ticket_id, decided_by, allowed, late) of the event's scans, from the file."""
    with sqlite3.connect(f"file:{db_path(server)}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT id, device_id, ticket_id, decided_by, allowed, late FROM scans"
            " WHERE event_id = ? ORDER BY id",
            (event,),
        ).fetchall()


def statuses(answer: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["status"] for r in answer["results"]}


def test_a_push_is_stored_once_and_a_repush_changes_nothing(server: ServerProcess) -> None:
    venue = make_venue(server, "reconcile-basic")
    gate = register_gate(server, venue)
    scans = [
        offline_scan(venue.ticket_ids[0]),
        offline_scan(venue.ticket_ids[1], direction="exit"),
        offline_scan(None, allowed=False),
    ]
    first = push(server, gate, scans)
    assert first["summary"] == {"accepted": 3, "duplicate": 0, "conflict": 0, "rejected": 0}
    rows = stored(server, venue.event)
    assert sorted(r[0] for r in rows) == sorted(s["id"] for s in scans)
    assert {r[3] for r in rows} == {"offline"}
    again = push(server, gate, scans)
    assert again["summary"]["duplicate"] == 3
    assert stored(server, venue.event) == rows
    # The same id twice in one call is stored once.
    twice = offline_scan(venue.ticket_ids[2])
    answer = push(server, gate, [twice, twice])
    assert [r["status"] for r in answer["results"]] == ["accepted", "duplicate"]
    assert len(stored(server, venue.event)) == 4


def test_late_online_and_oversized_uploads(server: ServerProcess) -> None:
    now_ms = time.time_ns() // 1_000_000
    venue = make_venue(
        server, "reconcile-edges", starts=_iso(now_ms - 72 * HOUR_MS), ends=_iso(now_ms + HOUR_MS)
    )
    gate = register_gate(server, venue)
    backdate_registration(server, gate.device_id, now_ms - 96 * HOUR_MS)
    recent = offline_scan(venue.ticket_ids[0], at_ms=now_ms - 60_000)
    old = offline_scan(venue.ticket_ids[1], at_ms=now_ms - 48 * 3_600_000)
    online = {**offline_scan(venue.ticket_ids[2]), "decidedBy": "online"}
    answer = push(server, gate, [recent, old, online])
    by_id = {r["id"]: r for r in answer["results"]}
    assert by_id[recent["id"]]["late"] is False
    assert by_id[old["id"]]["late"] is True
    assert by_id[online["id"]]["status"] == "duplicate"  # the backend stored it when it decided
    assert online["id"] not in {r[0] for r in stored(server, venue.event)}
    odd = {**offline_scan(None, allowed=False), "ticketId": "NOT-A-TICKET", "qrData": "x" * 5000}
    assert push(server, gate, [odd])["summary"]["accepted"] == 1  # never blocks an outbox
    with sqlite3.connect(f"file:{db_path(server)}?mode=ro", uri=True) as conn:
        ticket, raw = conn.execute(
            "SELECT ticket_id, raw FROM scans WHERE id = ?", (odd["id"],)
        ).fetchone()
    assert ticket is None and raw == "x" * 512
    with gate.client(server) as http:
        too_many = [offline_scan(venue.ticket_ids[0]) for _ in range(10_001)]
        response = http.post(
            "/api/offline/reconcile", json={"deviceId": gate.device_id, "scans": too_many}
        )
    assert response.status_code in (413, 422)


def _three_gate_scans(venue: Venue) -> dict[str, list[dict[str, Any]]]:
    t1, t2, t3, t4 = venue.ticket_ids[:4]
    return {
        "a": [offline_scan(t1, at_ms=SCANNED_MS, gate="a"), offline_scan(t2, gate="a")],
        "b": [
            offline_scan(t1, at_ms=SCANNED_MS + 5_000, gate="b"),
            offline_scan(t2, at_ms=SCANNED_MS + 1_000, gate="b"),
            offline_scan(t4, gate="b"),
        ],
        "c": [
            offline_scan(t2, at_ms=SCANNED_MS - 1_000, gate="c"),
            offline_scan(t3, gate="c"),
            offline_scan(t4, gate="c", direction="exit"),  # an exit is no admission
            offline_scan(t1, gate="c", allowed=False),  # a denial is no admission
        ],
    }


@pytest.mark.parametrize("order", list(itertools.permutations("abc")), ids="".join)
def test_three_gates_reconcile_in_any_order(server: ServerProcess, order: tuple[str, ...]) -> None:
    venue = make_venue(server, "reconcile-three")
    gates = {name: register_gate(server, venue) for name in "abc"}
    scans = _three_gate_scans(venue)
    t1, t2 = venue.ticket_ids[:2]
    over = {t1, t2}  # T1 admitted by a and b, T2 by a, b and c; one admission allowed
    admissions = {
        s["id"]: (name, s)
        for name, batch in scans.items()
        for s in batch
        if s["allowed"] and s["direction"] == "entry"
    }
    uploaded: list[str] = []
    for name in order:
        answer = push(server, gates[name], scans[name])
        uploaded.append(name)
        for result in answer["results"]:
            scan = next(s for s in scans[name] if s["id"] == result["id"])
            ticket = scan["ticketId"]
            is_admission = result["id"] in admissions
            admitted_so_far = sum(
                1
                for other, (owner, s) in admissions.items()
                if owner in uploaded and s["ticketId"] == ticket
            )
            if is_admission and admitted_so_far > 1:
                assert result["status"] == "conflict", (name, scan, result)
                others = {(c["scanId"], c["deviceId"]) for c in result["conflicts"]}
                expected = {
                    (other, gates[owner].device_id)
                    for other, (owner, s) in admissions.items()
                    if owner in uploaded and s["ticketId"] == ticket and other != result["id"]
                }
                assert others == expected
            else:
                assert result["status"] == "accepted", (name, scan, result)
    # Every side learns of its part: a re-push (what `reconcile status` does) answers
    # conflict for every admission of an over-admitted ticket, whoever uploaded first.
    for name in order:
        for result in push(server, gates[name], scans[name])["results"]:
            scan = next(s for s in scans[name] if s["id"] == result["id"])
            conflicting = result["id"] in admissions and scan["ticketId"] in over
            assert result["status"] == ("conflict" if conflicting else "duplicate")
    rows = stored(server, venue.event)
    every = [s["id"] for batch in scans.values() for s in batch]
    assert sorted(r[0] for r in rows) == sorted(every)  # each stored exactly once


def test_reentry_allowance_counts(server: ServerProcess) -> None:
    venue = make_venue(
        server, "reconcile-reentry", policy={"reentry_allowed": True, "max_reentries": 1}
    )
    a, b = register_gate(server, venue), register_gate(server, venue)
    ticket = venue.ticket_ids[0]
    first = push(server, a, [offline_scan(ticket, at_ms=SCANNED_MS)])
    second = push(server, b, [offline_scan(ticket, at_ms=SCANNED_MS + 3_600_000)])
    assert first["summary"]["accepted"] == 1 and second["summary"]["accepted"] == 1
    third = push(server, a, [offline_scan(ticket, at_ms=SCANNED_MS + 7_200_000)])
    assert third["summary"]["conflict"] == 1
    assert len(third["results"][0]["conflicts"]) == 2


def test_a_push_interrupted_by_a_killed_server_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    backend = start_server(tmp_path / "srv")
    hmac, jwt_secret = backend.env["HMAC_SECRET"], backend.env["JWT_SECRET"]
    signing_key = backend.env["MANIFEST_SIGNING_KEY"]
    try:
        # Unlimited re-entry: every scan an admission, none a conflict (that is tested above).
        venue = make_venue(backend, "crash", tickets=200, policy={"reentry_allowed": True})
        gate = register_gate(backend, venue)
        batches = [
            sign_codes(
                hmac,
                venue.tenant,
                venue.event,
                [offline_scan(venue.ticket_ids[(i * 7 + j) % 200]) for j in range(2_000)],
            )
            for i in range(12)
        ]
        acknowledged: list[int] = []
        failure: list[BaseException] = []

        def pusher() -> None:
            try:
                with gate.client(backend) as http:
                    for index, batch in enumerate(batches):
                        response = http.post(
                            "/api/offline/reconcile",
                            json={"deviceId": gate.device_id, "scans": batch},
                        )
                        response.raise_for_status()
                        acknowledged.append(index)
            except (httpx.HTTPError, OSError) as exc:
                failure.append(exc)

        thread = threading.Thread(target=pusher)
        thread.start()
        wait_for(lambda: len(acknowledged) >= 3, timeout=60, what="three batches through")
        backend.process.send_signal(signal.SIGKILL)
        thread.join(60)
        assert failure, "the push should have been cut off"
        assert len(acknowledged) < len(batches)
    finally:
        backend.stop()
    restarted = start_server(
        tmp_path / "srv",
        HMAC_SECRET=hmac,
        JWT_SECRET=jwt_secret,
        MANIFEST_SIGNING_KEY=signing_key,
    )
    try:
        partial = stored(restarted, venue.event)
        assert len(partial) >= 3 * 2_000
        # The device marks nothing sent past the last 2xx, so it pushes everything after it
        # again (and, not knowing, the batch in flight): nothing lost, nothing doubled.
        for batch in batches[len(acknowledged) :]:
            answer = push(restarted, gate, batch)
            assert sum(answer["summary"].values()) == len(batch)
        rows = stored(restarted, venue.event)
        every = {s["id"] for batch in batches for s in batch}
        assert len(rows) == len(every) == 12 * 2_000
        assert {r[0] for r in rows} == every
    finally:
        assert restarted.stop() == 0


def test_an_admission_with_a_warning_is_stored_with_it(server: ServerProcess) -> None:
    """A gate that admitted on an expired manifest uploads the warning; the backend keeps
    it with the scan and lists it (GET /api/scans)."""
    venue = make_venue(server, "reconcile-warning")
    gate = register_gate(server, venue)
    warned = offline_scan(venue.ticket_ids[0])
    warned["warning"] = "offline ticket data is out of date; admitted on sam's override"
    plain = offline_scan(venue.ticket_ids[1])
    assert push(server, gate, [warned, plain])["summary"]["accepted"] == 2
    with sqlite3.connect(f"file:{db_path(server)}?mode=ro", uri=True) as conn:
        rows = dict(
            conn.execute("SELECT id, warning FROM scans WHERE event_id = ?", (venue.event,))
        )
    assert rows == {warned["id"]: warned["warning"], plain["id"]: None}
    with admin(server, venue.tenant) as http:
        listed = http.get("/api/scans", params={"eventId": venue.event}).json()["scans"]
    assert {s["id"]: s["warning"] for s in listed} == rows
