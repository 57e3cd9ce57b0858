"""Helpers of the offline tests: venues with events and tickets, registered gates with keys."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from scanctl.backend.auth.principal import Role
from scanctl.client.device_token import mint_device_token
from scanctl.manifests import DeviceKeys
from tests.backend.helpers import ServerProcess, new_id

STARTS = "2030-06-01T18:00:00Z"
ENDS = "2030-06-01T23:30:00Z"
SCANNED_MS = 1_906_567_200_000  # 2030-06-01T19:00:00Z, inside the event


@dataclass
class Venue:
    """A tenant's venue with one event and its tickets."""

    tenant: str
    venue: str
    event: str
    ticket_ids: list[str] = field(default_factory=list)


@dataclass
class Gate:
    """A registered device and its private keys."""

    device_id: str
    tenant: str
    venue: str
    keys: DeviceKeys
    manifest_key: str
    event: str | None = None
    """The event of the venue it was registered for: push() signs its scans' codes."""

    def token(self, *, now: float | None = None, **overrides: Any) -> str:
        return mint_device_token(
            device_id=overrides.pop("device_id", self.device_id),
            tenant_id=overrides.pop("tenant_id", self.tenant),
            venue_id=overrides.pop("venue_id", self.venue),
            private_key=overrides.pop("private_key", self.keys.signing),
            now=time.time() if now is None else now,
        )

    def client(self, server: ServerProcess) -> httpx.Client:
        return server.client(self.token())


def admin(server: ServerProcess, tenant: str) -> httpx.Client:
    return server.client(server.token(Role.ADMIN, tenant))


def make_venue(
    server: ServerProcess,
    tenant: str,
    tickets: int = 5,
    *,
    venue: str | None = None,
    policy: dict[str, Any] | None = None,
    starts: str = STARTS,
    ends: str = ENDS,
    zones: list[str] | None = None,
) -> Venue:
    data = Venue(tenant, venue or new_id(), new_id())
    base = int(uuid.uuid4().hex[:7], 16) << 4
    data.ticket_ids = [f"{(base + i) & 0xFFFFFFFF:08x}" for i in range(tickets)]
    with admin(server, tenant) as http:
        response = http.post(
            "/api/catalog/events",
            json={
                "id": data.event,
                "venueId": data.venue,
                "name": "Offline night",
                "startsAt": starts,
                "endsAt": ends,
            },
        )
        assert response.status_code == 201, response.text
        if data.ticket_ids:
            response = http.post(
                f"/api/catalog/events/{data.event}/tickets",
                json={
                    "tickets": [
                        {"id": t, **({"zones": zones} if zones else {})} for t in data.ticket_ids
                    ]
                },
            )
            assert response.status_code == 200, response.text
        if policy is not None:
            response = http.put(f"/api/policies/{data.event}", json=policy)
            assert response.status_code == 200, response.text
    return data


def register_gate(
    server: ServerProcess, venue: Venue, *, offline: bool = True, zone: str | None = None
) -> Gate:
    keys = DeviceKeys.generate()
    device_id = new_id()
    with admin(server, venue.tenant) as http:
        response = http.post(
            "/api/devices/register",
            json={
                "deviceId": device_id,
                "name": "Gate",
                "type": "SCANNER_GUN",
                "venueId": venue.venue,
                "canScanOffline": offline,
                "signingPublicKey": keys.signing_public_b64,
                "sealingPublicKey": keys.exchange_public_b64,
                **({"zone": zone} if zone else {}),
            },
        )
    assert response.status_code == 201, response.text
    body = response.json()
    return Gate(device_id, venue.tenant, venue.venue, keys, body["manifestSigningKey"], venue.event)


def offline_scan(
    ticket_id: str | None,
    *,
    allowed: bool = True,
    at_ms: int = SCANNED_MS,
    gate: str = "north",
    direction: str = "entry",
    scan_id: str | None = None,
    nonce: str | None = None,
    qr_data: str | None = None,
) -> dict[str, Any]:
    """A scan as the daemon's outbox sends it: a rotating code with a nonce of its own
    (unless ``nonce`` repeats one), or ``qr_data`` (a printed code, say)."""
    from datetime import UTC, datetime

    nonce = nonce or uuid.uuid4().hex[:16]
    return {
        "id": scan_id or str(uuid.uuid4()),
        "qrData": qr_data or f"{ticket_id or 'garbage'}:{at_ms}:{nonce}:{UNSIGNED_MAC}",
        "ticketId": ticket_id,
        "allowed": allowed,
        "reason": "ADMITTED" if allowed else "INVALID",
        "gate": gate,
        "scanner": "lane-1",
        "direction": direction,
        "scannedAt": datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(),
        "decidedBy": "offline",
    }


UNSIGNED_MAC = "ab" * 32
"""The MAC offline_scan() writes: sign_codes() replaces it by the real one."""


def sign_codes(
    hmac_secret: str, tenant: str, event: str | None, scans: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The scans with every code offline_scan() made signed with the event's key, as a
    gate's scans are (the backend checks the MAC of every uploaded admission)."""
    from scanctl.core import derive_event_key, mint_token

    signed = []
    for scan in scans:
        code = scan.get("qrData", "")
        target = scan.get("eventId") or event
        if isinstance(code, str) and code.endswith(UNSIGNED_MAC) and target is not None:
            ticket, at_ms, nonce, _ = code.split(":")
            key = derive_event_key(hmac_secret, tenant, target)
            scan = {**scan, "qrData": mint_token(key, ticket, int(at_ms), nonce)}
        signed.append(scan)
    return signed


def push(server: ServerProcess, gate: Gate, scans: list[dict[str, Any]]) -> dict[str, Any]:
    """Upload scans as the gate (POST /api/offline/reconcile); the answer, asserted 200."""
    scans = sign_codes(server.env["HMAC_SECRET"], gate.tenant, gate.event, scans)
    with gate.client(server) as http:
        response = http.post(
            "/api/offline/reconcile", json={"deviceId": gate.device_id, "scans": scans}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
