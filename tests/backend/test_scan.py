"""POST /api/scan end to end on a real server process with a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from scanctl.backend.api.scan import ScanOut
from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess, new_id
from tests.backend.scan_kit import Door, open_door


@pytest.fixture(scope="module")
def door(server: ServerProcess) -> Iterator[Door]:
    opened = open_door(server)
    try:
        yield opened
    finally:
        opened.admin.close()
        opened.staff.close()


def test_generate_scan_admitted_then_replay_then_duplicate(door: Door) -> None:
    ticket = door.ticket()
    token = door.generate(ticket)
    first = door.scan(token, gate="north")
    assert first["allowed"] is True
    assert first["reason"] == "ADMITTED"
    assert first["ticketId"] == ticket
    assert first["scanId"]
    # The hand-built body is exactly the documented ScanOut shape.
    assert set(first) == {f.alias for f in ScanOut.model_fields.values()}
    ScanOut.model_validate(first)
    replay = door.scan(token, gate="north")
    assert (replay["allowed"], replay["reason"]) == (False, "QR_ALREADY_USED")
    again = door.scan(door.generate(ticket), gate="south")
    assert (again["allowed"], again["reason"]) == (False, "ALREADY_SCANNED")
    assert again["admittedGate"] == "north"
    assert datetime.fromisoformat(again["admittedAt"]) == datetime.fromisoformat(first["decidedAt"])


def test_reentry_after_the_window(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    door.policy(event, reentry_allowed=True, duplicate_window_seconds=600)
    ticket = door.ticket(event)
    assert door.scan(door.mint(ticket, event), event=event)["reason"] == "ADMITTED"
    assert door.scan(door.mint(ticket, event), event=event)["reason"] == "ALREADY_SCANNED"
    # A policy change reaches the scan path at once (the cache is invalidated).
    door.policy(event, reentry_allowed=True, duplicate_window_seconds=0)
    assert door.scan(door.mint(ticket, event), event=event)["reason"] == "RE_ENTRY_ADMITTED"


def test_a_second_entry_names_the_first_admission_with_its_device(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    door.policy(event, reentry_allowed=True, duplicate_window_seconds=0)
    ticket = door.ticket(event)
    other = door.new_device()
    first = door.scan(door.mint(ticket, event), event=event, gate="north")
    assert first["reason"] == "ADMITTED"
    latest = door.scan(door.mint(ticket, event), event=event, gate="east", device=other)
    assert latest["reason"] == "RE_ENTRY_ADMITTED"
    door.policy(event, reentry_allowed=True, duplicate_window_seconds=600)
    again = door.scan(door.mint(ticket, event), event=event, gate="south")
    assert again["reason"] == "ALREADY_SCANNED"
    named = (again["admittedAt"], again["admittedGate"], again["admittedDevice"])
    assert named == (first["decidedAt"], "north", door.device)
    assert list(again)[-1] == "admittedDevice"  # added at the end of the documented keys


def test_cooldown_and_max_reentries(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    door.policy(event, reentry_allowed=True, duplicate_window_seconds=0, cooldown_seconds=3600)
    ticket = door.ticket(event)
    assert door.scan(door.mint(ticket, event), event=event)["reason"] == "ADMITTED"
    cooled = door.scan(door.mint(ticket, event), event=event)
    assert cooled["reason"] == "COOLDOWN"
    assert 3590 <= cooled["retryAfterSeconds"] <= 3600

    door.policy(event, reentry_allowed=True, duplicate_window_seconds=0, max_reentries=1)
    other = door.ticket(event)
    reasons = [door.scan(door.mint(other, event), event=event)["reason"] for _ in range(3)]
    assert reasons == ["ADMITTED", "RE_ENTRY_ADMITTED", "MAX_REENTRIES"]


@pytest.mark.parametrize(
    ("fields", "reason", "extra"),
    [
        ({"status": "REFUNDED"}, "TICKET_REFUNDED", {}),
        ({"status": "CANCELLED"}, "TICKET_CANCELLED", {}),
        (
            {"status": "TRANSFERRED", "transferredTo": "0badcafe"},
            "TICKET_TRANSFERRED",
            {"transferredTo": "0badcafe"},
        ),
        ({"validUntil": "2001-01-01T00:00:00Z"}, "TICKET_EXPIRED", {}),
        ({"validFrom": "2099-01-01T00:00:00Z"}, "TICKET_NOT_YET_VALID", {}),
    ],
)
def test_ticket_states(
    door: Door, fields: dict[str, str], reason: str, extra: dict[str, str]
) -> None:
    ticket = door.ticket(**fields)
    decision = door.scan(door.generate(ticket))
    assert (decision["allowed"], decision["reason"]) == (False, reason)
    for key, value in extra.items():
        assert decision[key] == value


def test_event_not_started_and_ended(door: Door) -> None:
    later = door.new_event(starts=timedelta(days=2), ends=timedelta(days=2, hours=5))
    ticket = door.ticket(later)
    assert door.scan(door.mint(ticket, later), event=later)["reason"] == "EVENT_NOT_STARTED"
    over = door.new_event(
        starts=timedelta(days=-2), ends=timedelta(days=-2, hours=-5) + timedelta(hours=10)
    )
    ticket = door.ticket(over)
    assert door.scan(door.mint(ticket, over), event=over)["reason"] == "EVENT_ENDED"


def test_wrong_event_and_wrong_zone(door: Door) -> None:
    elsewhere = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    ticket = door.ticket(elsewhere)
    decision = door.scan(door.mint(ticket, elsewhere))  # scanned at door.event
    assert decision["reason"] == "WRONG_EVENT"
    vip_gate = door.new_device(zone="VIP")
    ga = door.ticket(zones=["GA"])
    assert door.scan(door.mint(ga), device=vip_gate)["reason"] == "WRONG_ZONE"
    vip = door.ticket(zones=["VIP"])
    assert door.scan(door.mint(vip), device=vip_gate)["reason"] == "ADMITTED"


def test_a_lane_names_its_zone_and_may_not_contradict_its_devices(door: Door) -> None:
    gate_computer = door.new_device()  # no zone: its lanes guard several
    ga_box = door.new_device(zone="GA")
    ga, vip = door.ticket(zones=["GA"]), door.ticket(zones=["VIP"])
    assert door.scan(door.mint(ga), device=gate_computer, zone="VIP")["reason"] == "WRONG_ZONE"
    assert door.scan(door.mint(vip), device=gate_computer, zone="VIP")["reason"] == "ADMITTED"
    # A GA box: GA lanes admit GA guests (its lane saying so or not), never VIP guests.
    assert door.scan(door.mint(ga), device=ga_box, zone="GA")["reason"] == "ADMITTED"
    assert door.scan(door.mint(vip), device=ga_box)["reason"] == "WRONG_ZONE"
    # A VIP lane on a GA box is a set-up error, refused with the reason, nothing recorded.
    response = door.staff.post(
        "/api/scan",
        json={"qrData": door.mint(vip), "eventId": door.event, "deviceId": ga_box, "zone": "VIP"},
    )
    assert response.status_code == 422
    assert "contradicts the device's registered zone 'GA'" in response.json()["detail"]


def test_unzoned_tickets_are_not_all_access(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    unzoned = door.ticket(event)
    vip_box = door.new_device(zone="VIP")
    assert door.scan(door.mint(unzoned, event), event=event, device=vip_box)["reason"] == (
        "WRONG_ZONE"
    )
    door.policy(event, unzoned_tickets="all-zones")
    assert door.scan(door.mint(unzoned, event), event=event, device=vip_box)["reason"] == (
        "ADMITTED"
    )


def test_expired_and_tampered_codes(door: Door) -> None:
    ticket = door.ticket()
    old = door.mint(ticket, age_ms=60_000)
    assert door.scan(old)["reason"] == "QR_EXPIRED"
    fresh = door.mint(ticket)
    last = fresh[-1]
    tampered = fresh[:-1] + ("0" if last != "0" else "1")
    decision = door.scan(tampered)
    assert decision == {**decision, "allowed": False, "reason": "INVALID", "ticketId": None}
    # Unknown ticket and garbage get the very same answer.
    unknown = door.scan(door.mint("ffffff00"))
    garbage = door.scan("not a ticket at all")
    assert {unknown["message"], garbage["message"], decision["message"]} == {decision["message"]}
    # The token stays good after the forgery was refused.
    assert door.scan(fresh)["reason"] == "ADMITTED"


def test_independently_minted_token_is_accepted(door: Door) -> None:
    ticket = door.ticket()
    assert door.scan(door.mint(ticket))["reason"] == "ADMITTED"


def test_device_of_another_venue_is_denied_and_audited(door: Door) -> None:
    foreign = door.new_device(venue=new_id())
    ticket = door.ticket()
    decision = door.scan(door.mint(ticket), device=foreign, client=door.admin)
    assert (decision["allowed"], decision["reason"]) == (False, "UNAUTHORIZED_VENUE")
    audit = door.admin.get("/api/audit").json()
    assert any(row["targetId"] == foreign for row in audit)
    # Staff of this venue may not scan with that device either.
    assert door.scan(door.mint(ticket), device=foreign)["reason"] == "UNAUTHORIZED_VENUE"
    # And the ticket is still unused.
    assert door.scan(door.mint(ticket))["reason"] == "ADMITTED"


def test_unknown_and_revoked_devices_are_refused(door: Door) -> None:
    body = {"qrData": "x" * 30, "eventId": door.event, "deviceId": new_id()}
    assert door.staff.post("/api/scan", json=body).status_code == 404
    device = door.new_device()
    assert door.scan(door.mint(door.ticket()), device=device)["allowed"] is True
    assert door.admin.delete(f"/api/devices/{device}").status_code == 200
    body["deviceId"] = device
    assert door.staff.post("/api/scan", json=body).status_code == 403


def test_every_scan_is_recorded_and_listed(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    ticket = door.ticket(event)
    door.scan(door.mint(ticket, event), event=event, gate="east")
    door.scan("garbage\x00" + "y" * 2000, event=event)
    door.scan(door.mint(ticket, event), event=event, gate="east")
    manager = door.server.client(door.server.token(Role.VENUE_MANAGER, door.tenant, door.venue))
    with manager:
        first = manager.get("/api/scans", params={"eventId": event, "limit": 2})
        assert first.status_code == 200, first.text
        page = first.json()
        rest = manager.get(
            "/api/scans", params={"eventId": event, "limit": 2, "cursor": page["next"]}
        ).json()
    scans = page["scans"] + rest["scans"]
    assert rest["next"] is None
    assert [s["reason"] for s in scans] == ["ADMITTED", "INVALID", "ALREADY_SCANNED"]
    assert scans[0]["gate"] == "east" and scans[0]["decidedBy"] == "online"
    assert scans[1]["ticketId"] is None and len(scans[1]["raw"]) == 512
    assert door.staff.get("/api/scans", params={"eventId": event}).status_code == 403


def test_people_may_scan_with_any_device_of_their_venue(door: Door) -> None:
    other = door.new_device()
    response = door.staff.post(
        "/api/scan", json={"qrData": "x", "eventId": door.event, "deviceId": other}
    )
    assert response.status_code == 200
    assert response.json()["reason"] == "INVALID"


def test_qr_generation_is_rate_limited(door: Door) -> None:
    ticket = door.ticket()
    codes = [door.admin.get(f"/api/qr/generate/{ticket}") for _ in range(31)]
    assert [c.status_code for c in codes[:30]] == [200] * 30
    assert codes[30].status_code == 429
    assert int(codes[30].headers["Retry-After"]) >= 1
    body = codes[0].json()
    assert set(body) == {"qrData", "ticketId", "eventId", "expiresAt", "expiresInSeconds"}
    assert body["expiresInSeconds"] == 30
    assert door.staff.get(f"/api/qr/generate/{ticket}").status_code == 403


def test_scans_are_rate_limited_per_lane(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    door.policy(event, scanner_rate_limit_per_minute=3)
    device = door.new_device()
    # Two lanes of one box each read three times a minute: nobody is refused.
    reasons = [
        door.scan("z" * 30, event=event, device=device, lane=lane)["reason"]
        for _ in range(3)
        for lane in ("lane-1", "lane-2")
    ]
    assert reasons == ["INVALID"] * 6
    assert door.scan("z" * 30, event=event, device=device, lane="lane-1")["reason"] == (
        "RATE_LIMITED"
    )
    # A client that names no lane is one lane of its own.
    reasons = [door.scan("z" * 30, event=event, device=device)["reason"] for _ in range(4)]
    assert reasons == ["INVALID", "INVALID", "INVALID", "RATE_LIMITED"]
    response = door.staff.post(
        "/api/scan", json={"qrData": "z" * 30, "eventId": event, "deviceId": device}
    )
    assert response.json()["retryAfterSeconds"] >= 1
    assert int(response.headers["Retry-After"]) >= 1


def test_large_responses_are_compressed(door: Door) -> None:
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    for _ in range(20):
        door.scan("q" * 100, event=event)
    response = door.admin.get(
        "/api/scans", params={"eventId": event}, headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    small = door.admin.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
