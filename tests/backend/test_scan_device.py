"""Devices scan with their own signed tokens, as themselves only, and do nothing else here."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import make_venue, register_gate
from tests.backend.scan_kit import independent_token, iso


def test_a_device_scans_as_itself_only(server: ServerProcess) -> None:
    venue = make_venue(
        server, "scan-dev", 2, starts=iso(timedelta(hours=-1)), ends=iso(timedelta(hours=4))
    )
    gate, other = register_gate(server, venue), register_gate(server, venue)
    code = independent_token(
        server.env["HMAC_SECRET"],
        venue.tenant,
        venue.event,
        venue.ticket_ids[0],
        int(time.time() * 1000),
    )
    body = {"qrData": code, "eventId": venue.event, "deviceId": other.device_id}
    with gate.client(server) as http:
        assert http.post("/api/scan", json=body).status_code == 403
        body["deviceId"] = gate.device_id
        decision = http.post("/api/scan", json=body)
        assert decision.status_code == 200, decision.text
        assert decision.json()["reason"] == "ADMITTED"
        # A device may not read the scan log or mint codes.
        assert http.get("/api/scans", params={"eventId": venue.event}).status_code == 403
        assert http.get(f"/api/qr/generate/{venue.ticket_ids[1]}").status_code == 403
