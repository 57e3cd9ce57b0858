"""One id per scan, made by the gate: idempotent online scans, read times, device-scoped ids.

A real server process with a real SQLite file; gates authenticate with their own device
tokens, as the daemon does.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import Gate, Venue, make_venue, offline_scan, push, register_gate
from tests.backend.scan_kit import independent_token


def live_venue(server: ServerProcess, name: str, **policy: Any) -> Venue:
    now = datetime.now(UTC)
    return make_venue(
        server,
        f"{name}-{uuid.uuid4().hex[:6]}",
        starts=(now - timedelta(hours=1)).isoformat(),
        ends=(now + timedelta(hours=5)).isoformat(),
        policy=policy or None,
    )


def code(server: ServerProcess, venue: Venue, ticket: str) -> str:
    now_ms = time.time_ns() // 1_000_000
    return independent_token(server.env["HMAC_SECRET"], venue.tenant, venue.event, ticket, now_ms)


def scan_online(server: ServerProcess, gate: Gate, venue: Venue, qr: str, **extra: Any) -> Any:
    with gate.client(server) as http:
        response = http.post(
            "/api/scan",
            json={"qrData": qr, "eventId": venue.event, "deviceId": gate.device_id, **extra},
        )
    assert response.status_code == 200, response.text
    return response.json()


def rows(server: ServerProcess, venue: Venue) -> list[tuple[Any, ...]]:
    """(id, device_id, reason, allowed, decided_by, scanned_at_ms) of the event's scans."""
    path = Path(server.env["SCANCTL_DATA_DIR"]) / "backend.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT id, device_id, reason, allowed, decided_by, scanned_at_ms FROM scans"
            " WHERE event_id = ? ORDER BY recorded_at_ms, id",
            (venue.event,),
        ).fetchall()


def test_a_read_sent_twice_is_one_scan_decided_once(server: ServerProcess) -> None:
    venue = live_venue(server, "ids-twice")
    gate = register_gate(server, venue)
    qr, scan_id = code(server, venue, venue.ticket_ids[0]), str(uuid.uuid4())
    first = scan_online(server, gate, venue, qr, scanId=scan_id, lane="lane-1")
    again = scan_online(server, gate, venue, qr, scanId=scan_id, lane="lane-1")
    assert first["reason"] == "ADMITTED" and first["scanId"] == scan_id
    # The retry is told what was decided, not QR_ALREADY_USED about its own read.
    assert (again["reason"], again["scanId"], again["allowed"]) == ("ADMITTED", scan_id, True)
    assert [(r[0], r[2]) for r in rows(server, venue)] == [(scan_id, "ADMITTED")]
    # Clients that send no id still get one made for them.
    plain = scan_online(server, gate, venue, code(server, venue, venue.ticket_ids[1]))
    assert plain["reason"] == "ADMITTED" and uuid.UUID(plain["scanId"])


def test_the_stored_time_is_the_read_not_the_backends_wake_up(server: ServerProcess) -> None:
    venue = live_venue(server, "ids-time")
    gate = register_gate(server, venue)
    read_ms = time.time_ns() // 1_000_000 - 40_000  # a request that sat in a queue
    qr = code(server, venue, venue.ticket_ids[0])
    scan_online(server, gate, venue, qr, scanId=str(uuid.uuid4()), timestamp=read_ms)
    future = code(server, venue, venue.ticket_ids[1])
    scan_online(server, gate, venue, future, timestamp=read_ms + 3_600_000)  # a wrong clock
    stored = rows(server, venue)
    assert stored[0][5] == read_ms
    assert abs(stored[1][5] - time.time_ns() // 1_000_000) < 60_000


def test_a_late_online_decision_and_the_gates_own_are_one_scan(server: ServerProcess) -> None:
    venue = live_venue(server, "ids-late")
    gate = register_gate(server, venue)
    ticket, scan_id = venue.ticket_ids[0], str(uuid.uuid4())
    # The backend decided the queued request after the gate had given up on it ...
    late = scan_online(server, gate, venue, code(server, venue, ticket), scanId=scan_id)
    assert late["reason"] == "ADMITTED"
    # ... and the gate, offline, had refused the person (say its manifest was stale).
    now_ms = time.time_ns() // 1_000_000
    upload = {
        **offline_scan(ticket, allowed=False, at_ms=now_ms - 1_000, scan_id=scan_id),
        "reason": "MANIFEST_STALE",
    }
    with gate.client(server) as http:
        answer = http.post(
            "/api/offline/reconcile", json={"deviceId": gate.device_id, "scans": [upload]}
        ).json()
    assert [r["status"] for r in answer["results"]] == ["accepted"]
    # One scan, as the door decided: the person was not let in, so nothing counts twice.
    assert [(r[0], r[2], r[3], r[4]) for r in rows(server, venue)] == [
        (scan_id, "MANIFEST_STALE", 0, "offline")
    ]
    again = scan_online(server, gate, venue, code(server, venue, ticket))
    assert again["reason"] == "ADMITTED"


def test_scan_ids_belong_to_the_device_that_made_them(server: ServerProcess) -> None:
    venue = live_venue(server, "ids-device")
    north, south = register_gate(server, venue), register_gate(server, venue)
    shared_id = str(uuid.uuid4())
    t1, t2 = venue.ticket_ids[:2]
    now_ms = time.time_ns() // 1_000_000
    first = push(server, north, [offline_scan(t1, at_ms=now_ms, scan_id=shared_id)])
    second = push(server, south, [offline_scan(t2, at_ms=now_ms, scan_id=shared_id)])
    assert first["results"][0]["status"] == "accepted"
    result = second["results"][0]
    assert result["status"] == "accepted"  # not "duplicate": south's scan is its own
    assert result["ticketId"] == t2  # and the answer never shows north's ticket
    assert sorted((r[0], r[1]) for r in rows(server, venue)) == sorted(
        [(shared_id, north.device_id), (shared_id, south.device_id)]
    )
    # Online too: south's id does not replay north's decision.
    online = scan_online(server, south, venue, code(server, venue, venue.ticket_ids[2]))
    reused = scan_online(
        server, north, venue, code(server, venue, venue.ticket_ids[3]), scanId=online["scanId"]
    )
    assert reused["reason"] == "ADMITTED"
