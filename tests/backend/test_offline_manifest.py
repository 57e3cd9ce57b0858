"""GET /api/offline/manifest on a real server: signed, sealed to the device, deltas, refusals."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanctl.backend.auth.principal import Role
from scanctl.core import TicketStatus, derive_event_key
from scanctl.manifests import (
    DeviceKeys,
    Manifest,
    ManifestRefused,
    ManifestStore,
    ManifestVerifier,
    SealError,
    VerifiedManifest,
    open_event_keys,
)
from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import Gate, Venue, admin, make_venue, register_gate


@pytest.fixture(scope="module")
def venue(server: ServerProcess) -> Venue:
    return make_venue(server, "offline-manifest", tickets=40)


@pytest.fixture(scope="module")
def gate(server: ServerProcess, venue: Venue) -> Gate:
    return register_gate(server, venue)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def pull(server: ServerProcess, gate: Gate, event: str, since: int | None = None) -> bytes:
    params = {} if since is None else {"since": since}
    with gate.client(server) as http:
        response = http.get(f"/api/offline/manifest/{event}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return response.content


def verify(gate: Gate, wire: bytes, **context: str) -> VerifiedManifest:
    return ManifestVerifier([gate.manifest_key]).verify(
        wire,
        tenant_id=context.get("tenant", gate.tenant),
        venue_id=context.get("venue", gate.venue),
        device_id=gate.device_id,
        now_ms=_now_ms(),
    )


def test_the_manifest_verifies_and_carries_every_ticket(
    server: ServerProcess, venue: Venue, gate: Gate
) -> None:
    verified = ManifestVerifier([gate.manifest_key]).verify(
        pull(server, gate, venue.event),
        tenant_id=venue.tenant,
        venue_id=venue.venue,
        event_id=venue.event,
        device_id=gate.device_id,
        now_ms=_now_ms(),
    )
    manifest = verified.manifest
    assert sorted(e.ticket_id for e in manifest.entries) == sorted(venue.ticket_ids)
    assert not manifest.header.is_delta
    # An event years ahead: the validity bound (24 h from the pull by default) caps it.
    hours = (manifest.header.valid_until_ms - manifest.header.issued_at_ms) / 3_600_000
    assert hours == pytest.approx(24)


def test_the_manifest_is_valid_until_the_event_ends_plus_the_grace_period(
    server: ServerProcess,
) -> None:
    """A 5-hour event pulled at its start stays valid to its end plus 2 h: not 4 h from
    the pull (which shut the doors an hour before the end)."""
    now = _now_ms()
    ends_ms = now + 5 * 3_600_000
    iso = "%Y-%m-%dT%H:%M:%S.%fZ"
    tonight = make_venue(
        server,
        "offline-manifest-validity",
        tickets=2,
        starts=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now // 1000 - 600)),
        ends=datetime.fromtimestamp(ends_ms / 1000, UTC).strftime(iso),
    )
    door = register_gate(server, tonight)
    header = verify(door, pull(server, door, tonight.event)).manifest.header
    assert header.event.ends_at_ms == ends_ms
    assert header.valid_until_ms == ends_ms + 2 * 3_600_000


def test_the_manifest_names_the_zone_the_device_was_registered_to(
    server: ServerProcess, venue: Venue, gate: Gate
) -> None:
    assert verify(gate, pull(server, gate, venue.event)).manifest.header.device_zone is None
    zoned = register_gate(server, venue, zone="GA")
    assert verify(zoned, pull(server, zoned, venue.event)).manifest.header.device_zone == "GA"


def test_the_manifest_lists_the_venues_active_gates_for_the_mesh(
    server: ServerProcess, venue: Venue
) -> None:
    venue = make_venue(server, venue.tenant, tickets=1)  # its own: other tests add gates
    gate = register_gate(server, venue)
    other = register_gate(server, venue)
    doomed = register_gate(server, venue)
    register_gate(server, make_venue(server, venue.tenant, tickets=0))
    with admin(server, venue.tenant) as http:
        assert http.delete(f"/api/devices/{doomed.device_id}").status_code == 200
    peers = verify(gate, pull(server, gate, venue.event)).manifest.header.peers
    listed = {peer.device_id: peer.signing_key for peer in peers}
    assert listed == {
        gate.device_id: gate.keys.signing_public_b64,
        other.device_id: other.keys.signing_public_b64,
    }  # not the revoked gate, nor another venue's
    held = verify(gate, pull(server, gate, venue.event)).manifest.header.sequence
    delta = pull(server, gate, venue.event, since=held)
    assert {p.device_id for p in verify(gate, delta).manifest.header.peers} == set(listed)


def test_one_flipped_byte_anywhere_is_refused(
    server: ServerProcess, venue: Venue, gate: Gate
) -> None:
    wire = pull(server, gate, venue.event)
    verify(gate, wire)
    positions = sorted({0, 1, len(wire) // 3, len(wire) // 2, len(wire) - 70, len(wire) - 1})
    positions += list(range(0, len(wire), max(1, len(wire) // 50)))
    for position in positions:
        flipped = bytearray(wire)
        flipped[position] ^= 0x01
        with pytest.raises(ManifestRefused):
            verify(gate, bytes(flipped))


def test_a_manifest_for_another_venue_or_tenant_is_refused(
    server: ServerProcess, venue: Venue, gate: Gate
) -> None:
    wire = pull(server, gate, venue.event)
    with pytest.raises(ManifestRefused, match="venue"):
        verify(gate, wire, venue=make_venue(server, venue.tenant, tickets=0).venue)
    with pytest.raises(ManifestRefused, match="tenant"):
        verify(gate, wire, tenant="someone-else")


def test_the_sealed_key_opens_only_with_the_right_device_key(
    server: ServerProcess, venue: Venue, gate: Gate
) -> None:
    header = verify(gate, pull(server, gate, venue.event)).header
    keys = open_event_keys(header, gate.keys.exchange)
    assert keys == [derive_event_key(server.env["HMAC_SECRET"], venue.tenant, venue.event)]
    with pytest.raises(SealError):
        open_event_keys(header, DeviceKeys.generate().exchange)


def test_who_may_pull(server: ServerProcess, venue: Venue, gate: Gate) -> None:
    url = f"/api/offline/manifest/{venue.event}"
    manager = server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue)
    with server.client(manager) as http:
        assert http.get(url, params={"deviceId": gate.device_id}).status_code == 200
        assert http.get(url).status_code == 400  # a person names the device
    staff = server.token(Role.VENUE_STAFF, venue.tenant, venue.venue)
    with server.client(staff) as http:
        assert http.get(url, params={"deviceId": gate.device_id}).status_code == 403
    online_only = register_gate(server, venue, offline=False)
    with online_only.client(server) as http:
        assert http.get(url).status_code == 403
    elsewhere = register_gate(server, make_venue(server, venue.tenant, tickets=0))
    with elsewhere.client(server) as http:
        assert http.get(url).status_code == 403
    with server.client(server.token(Role.ADMIN, "another-tenant")) as http:
        assert http.get(url, params={"deviceId": gate.device_id}).status_code == 404


def test_a_revoked_device_cannot_pull(server: ServerProcess, venue: Venue) -> None:
    doomed = register_gate(server, venue)
    pull(server, doomed, venue.event)
    with admin(server, venue.tenant) as http:
        assert http.delete(f"/api/devices/{doomed.device_id}").status_code == 200
        on_behalf = http.get(
            f"/api/offline/manifest/{venue.event}", params={"deviceId": doomed.device_id}
        )
    assert on_behalf.status_code == 403
    with doomed.client(server) as http:
        assert http.get(f"/api/offline/manifest/{venue.event}").status_code == 401


def test_a_delta_after_a_refund_and_a_transfer_reaches_the_store(
    server: ServerProcess, tmp_path: Path
) -> None:
    venue = make_venue(server, "offline-delta", tickets=20)
    gate = register_gate(server, venue)
    verifier = ManifestVerifier([gate.manifest_key])

    def check(wire: bytes) -> Manifest:
        return verifier.verify(
            wire,
            tenant_id=venue.tenant,
            venue_id=venue.venue,
            device_id=gate.device_id,
            now_ms=_now_ms(),
        ).manifest

    with ManifestStore(tmp_path / "manifest.db") as held:

        def load(wire: bytes) -> None:
            held.load(
                wire,
                verifier,
                tenant_id=venue.tenant,
                venue_id=venue.venue,
                device_id=gate.device_id,
                now_ms=_now_ms(),
            )

        load(pull(server, gate, venue.event))
        sequence = held.sequence
        assert sequence is not None
        refunded, moved, new_id = venue.ticket_ids[0], venue.ticket_ids[1], "fedcba98"
        with admin(server, venue.tenant) as http:
            response = http.post(
                f"/api/catalog/events/{venue.event}/tickets",
                json={
                    "tickets": [
                        {"id": refunded, "status": "REFUNDED"},
                        {"id": moved, "status": "TRANSFERRED", "transferredTo": new_id},
                        {"id": new_id},
                    ]
                },
            )
            assert response.status_code == 200, response.text
        wire = pull(server, gate, venue.event, since=sequence)
        delta = check(wire)
        assert delta.header.base_sequence == sequence
        assert sorted(e.ticket_id for e in delta.entries) == sorted([refunded, moved, new_id])
        load(wire)
        assert held.ticket(refunded).status is TicketStatus.REFUNDED  # type: ignore[union-attr]
        transferred = held.ticket(moved)
        assert transferred is not None
        assert transferred.status is TicketStatus.TRANSFERRED
        assert transferred.transferred_to == new_id
        assert len(held) == 21
        # Nothing changed since: an empty delta on the new base still applies.
        empty = pull(server, gate, venue.event, since=held.sequence)
        assert check(empty).entries == ()
        load(empty)
        # A `since` the backend never issued gets a full manifest.
        full = pull(server, gate, venue.event, since=2**61)
        assert not check(full).header.is_delta
