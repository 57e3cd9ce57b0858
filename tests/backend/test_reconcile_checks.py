"""Reconciliation checks what an uploaded admission rests on (`core.check_upload`): a
forged code, a date outside the event or the device's life, a scan after revocation are
refused, never counted; what cannot be checked is stored and marked."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import admin, offline_scan, push, register_gate
from tests.backend.test_scan_ids import code, live_venue, rows, scan_online


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in answer["results"]}


def test_a_forged_admission_never_turns_the_holder_away(server: ServerProcess) -> None:
    venue = live_venue(server, "checks-forged")
    gate = register_gate(server, venue)
    holder, other = venue.ticket_ids[0], venue.ticket_ids[1]
    now = _now_ms()
    forged = offline_scan(
        holder, at_ms=now - 1_000, qr_data=f"{holder}:{now}:{'0' * 16}:{'cd' * 32}"
    )
    borrowed = offline_scan(holder, at_ms=now - 1_000, qr_data=code(server, venue, other))
    garbage = offline_scan(holder, at_ms=now - 1_000, qr_data="let-me-in")
    far = offline_scan(other, at_ms=253_402_300_799_000)
    early = offline_scan(other, at_ms=now - 30 * 24 * 3_600_000)
    genuine = offline_scan(venue.ticket_ids[2], at_ms=now - 1_000)
    denial = offline_scan(None, allowed=False, at_ms=now - 1_000, qr_data="noise")
    answer = _by_id(push(server, gate, [forged, borrowed, garbage, far, early, genuine, denial]))
    assert "MAC" in answer[forged["id"]]["error"]
    assert "another ticket" in answer[borrowed["id"]]["error"]
    assert "not a ticket code" in answer[garbage["id"]]["error"]
    assert "outside its event" in answer[far["id"]]["error"]
    assert "before the device was registered" in answer[early["id"]]["error"]
    for refused in (forged, borrowed, garbage, far, early):
        assert answer[refused["id"]]["status"] == "rejected"
    assert answer[genuine["id"]]["status"] == "accepted"
    assert "unverified" not in answer[genuine["id"]]
    assert answer[denial["id"]]["status"] == "accepted"
    assert {r[0] for r in rows(server, venue)} == {genuine["id"], denial["id"]}
    # The real holder comes to the door: admitted, not ALREADY_SCANNED.
    assert scan_online(server, gate, venue, code(server, venue, holder))["reason"] == "ADMITTED"


def test_scans_after_a_revocation_are_refused_and_unknown_tickets_marked(
    server: ServerProcess,
) -> None:
    venue = live_venue(server, "checks-revoked")
    gate = register_gate(server, venue)
    now = _now_ms()
    unknown = offline_scan("fedcba98", at_ms=now - 1_000)
    before = offline_scan(venue.ticket_ids[0], at_ms=now - 1_000)
    answer = _by_id(push(server, gate, [unknown, before]))
    assert answer[unknown["id"]]["status"] == "accepted"
    assert answer[unknown["id"]]["unverified"] == "a ticket the backend does not hold"
    with admin(server, venue.tenant) as http:
        assert http.delete(f"/api/devices/{gate.device_id}").status_code in (200, 204)
    after = offline_scan(venue.ticket_ids[1], at_ms=_now_ms() + 6_000, scan_id=str(uuid.uuid4()))
    # A manager uploads the revoked gate's journal on its behalf.
    with admin(server, venue.tenant) as http:
        response = http.post(
            "/api/offline/reconcile",
            json={"deviceId": gate.device_id, "scans": [_signed(server, venue, after)]},
        )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["status"] == "rejected" and "revoked" in result["error"]


def _signed(server: ServerProcess, venue: Any, scan: dict[str, Any]) -> dict[str, Any]:
    from tests.backend.offline_kit import sign_codes

    return sign_codes(server.env["HMAC_SECRET"], venue.tenant, venue.event, [scan])[0]
