"""Small leaks closed: uniform 401s for devices, no cross-venue device-id probe, managers
see their venue's audit rows only, a bound on refusal audit rows, device tokens' nbf."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import httpx

from scanctl.backend.auth import Role
from scanctl.manifests import DeviceKeys
from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import Gate, admin, make_venue, register_gate
from tests.backend.test_device_auth import _signed


def _pull(server: ServerProcess, event: str, token: str) -> httpx.Response:
    with server.client(token) as http:
        return http.get(f"/api/offline/manifest/{event}")


def test_unknown_revoked_and_existing_devices_look_alike_without_the_key(
    server: ServerProcess,
) -> None:
    venue = make_venue(server, "leaks-401")
    live, revoked = register_gate(server, venue), register_gate(server, venue)
    with admin(server, venue.tenant) as http:
        assert http.delete(f"/api/devices/{revoked.device_id}").status_code == 200
    stranger = DeviceKeys.generate()
    answers = []
    for device_id in (live.device_id, revoked.device_id, str(uuid.uuid4())):
        forged = Gate(device_id, venue.tenant, venue.venue, stranger, "")
        response = _pull(server, venue.event, forged.token())
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == answers[2] == (401, {"detail": "invalid device token"})
    # The device itself, with its own key, is told why.
    response = _pull(server, venue.event, revoked.token())
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_device_token_is_not_used_before_its_nbf(server: ServerProcess) -> None:
    venue = make_venue(server, "leaks-nbf")
    gate = register_gate(server, venue)
    now = int(time.time())
    early = _signed(gate, {"kid": gate.device_id}, nbf=now + 120)
    response = _pull(server, venue.event, early)
    assert response.status_code == 401 and "nbf" in response.json()["detail"]
    assert _pull(server, venue.event, _signed(gate, {"kid": gate.device_id}, nbf=now)).is_success


def _register(server: ServerProcess, token: str, venue: str, device_id: str) -> httpx.Response:
    keys = DeviceKeys.generate()
    with server.client(token) as http:
        return http.post(
            "/api/devices/register",
            json={
                "deviceId": device_id,
                "name": "probe",
                "type": "SCANNER_GUN",
                "venueId": venue,
                "signingPublicKey": keys.signing_public_b64,
                "sealingPublicKey": keys.exchange_public_b64,
            },
        )


def test_a_manager_cannot_probe_device_ids_of_other_venues(server: ServerProcess) -> None:
    north = make_venue(server, "leaks-409")
    south = make_venue(server, north.tenant, venue=str(uuid.uuid4()))
    theirs = register_gate(server, north)
    manager = server.token(Role.VENUE_MANAGER, south.tenant, south.venue)
    probe = _register(server, manager, south.venue, theirs.device_id)
    assert probe.status_code == 201, probe.text
    assert probe.json()["deviceId"] != theirs.device_id  # registered, under a fresh id
    own = probe.json()["deviceId"]
    again = _register(server, manager, south.venue, own)
    assert again.status_code == 409  # a device of one's own venue is no secret


def _audit_db(server: ServerProcess) -> Path:
    return Path(server.env["SCANCTL_DATA_DIR"]) / "backend.sqlite3"


def test_managers_see_their_venues_audit_rows_only(server: ServerProcess) -> None:
    venue = make_venue(server, f"leaks-audit-{uuid.uuid4().hex[:6]}")
    with sqlite3.connect(_audit_db(server)) as conn:
        conn.execute(
            "INSERT INTO audit_log (tenant_id, at_ms, actor, actor_kind, actor_role, action,"
            " outcome, target_kind, target_id, venue_id) VALUES"
            " (?, 1, 'admin@x', 'person', 'ADMIN', 'PUT /api/secret', 'denied', 'role',"
            " 'tenant-wide-row', NULL)",
            (venue.tenant,),
        )
    conn.close()
    manager = server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue)
    with server.client(manager) as http:
        rows = http.get("/api/audit", params={"limit": 1000}).json()
    assert all(row["venueId"] == venue.venue for row in rows), rows
    with admin(server, venue.tenant) as http:
        everything = http.get("/api/audit", params={"limit": 1000}).json()
    assert any(row["targetId"] == "tenant-wide-row" for row in everything)


def test_refusals_write_a_bounded_number_of_audit_rows(server: ServerProcess) -> None:
    venue = make_venue(server, f"leaks-flood-{uuid.uuid4().hex[:6]}")
    subject = f"flooder-{uuid.uuid4().hex[:8]}"
    staff = server.token(Role.VENUE_STAFF, venue.tenant, venue.venue, subject=subject)
    with server.client(staff) as http:
        for _ in range(60):
            assert http.get("/api/audit").status_code == 403
    with sqlite3.connect(f"file:{_audit_db(server)}?mode=ro", uri=True) as conn:
        (written,) = conn.execute(
            "SELECT count(*) FROM audit_log WHERE actor = ?", (subject,)
        ).fetchone()
    conn.close()
    assert 1 <= written <= 20
