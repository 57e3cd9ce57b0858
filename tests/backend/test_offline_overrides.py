"""POST /api/offline/overrides: a gate's stale-manifest overrides land in the audit log once."""

from __future__ import annotations

import json
import uuid

from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import admin, make_venue, register_gate


def _override(**fields: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "action": "admit-with-warning",
        "until": "2030-06-01T23:30:00+00:00",
        "by": "Sam Door",
        "at": "2030-06-01T21:00:00+00:00",
        "note": "backend down",
        "manifestValidUntil": "2030-06-01T20:55:00+00:00",
        **fields,
    }


def test_overrides_are_audited_once_each(server: ServerProcess) -> None:
    venue = make_venue(server, "overrides-audit")
    gate = register_gate(server, venue)
    other = register_gate(server, venue)
    applied, ended = _override(), _override(action=None, at="2030-06-01T21:30:00+00:00")
    with gate.client(server) as http:
        body = {"deviceId": gate.device_id, "overrides": [applied, ended]}
        first = http.post("/api/offline/overrides", json=body)
        again = http.post("/api/offline/overrides", json=body)
        posing = http.post(
            "/api/offline/overrides", json={"deviceId": other.device_id, "overrides": [applied]}
        )
    assert first.status_code == 200, first.text
    assert first.json() == {"recorded": 2, "duplicate": 0}
    assert again.json() == {"recorded": 0, "duplicate": 2}
    assert posing.status_code == 403  # a device reports only its own
    with admin(server, venue.tenant) as http:
        audit = http.get("/api/audit").json()
    rows = {a["targetId"]: a for a in audit if a["action"] == "stale_manifest_override"}
    assert set(rows) == {applied["id"], ended["id"]}
    assert (rows[applied["id"]]["outcome"], rows[ended["id"]]["outcome"]) == ("applied", "ended")
    assert rows[applied["id"]]["deviceId"] == gate.device_id
    assert rows[applied["id"]]["venueId"] == venue.venue
    assert json.loads(rows[applied["id"]]["detail"])["until"] == "2030-06-01T23:30:00+00:00"
