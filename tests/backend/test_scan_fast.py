"""The /api/scan fast path answers exactly like the full app, and hands off what it must."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from scanctl.backend.api.scan import ScanOut
from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess
from tests.backend.offline_kit import Venue, register_gate
from tests.backend.scan_kit import Door, open_door


@pytest.fixture(scope="module")
def door(server: ServerProcess) -> Iterator[Door]:
    opened = open_door(server)
    try:
        yield opened
    finally:
        opened.admin.close()
        opened.staff.close()


def scan_requests(server: ServerProcess) -> int:
    """/api/scan requests counted in /metrics, every status together."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    pattern = re.compile(r'^\w+_requests_total\{[^}]*route="/api/scan"[^}]*\} ([0-9.e+]+)$', re.M)
    return int(sum(float(value) for value in pattern.findall(text)))


def test_first_and_later_scans_of_a_token_answer_alike(door: Door) -> None:
    # A token the server has never seen takes the full app (which caches it); the next
    # request of the same token takes the fast path. Both must answer the same shape.
    token = door.server.token(Role.VENUE_STAFF, door.tenant, door.venue, subject="fast@x")
    with door.server.client(token) as client:
        before = scan_requests(door.server)
        first = door.scan(door.generate(door.ticket()), client=client, gate="north")
        second = door.scan(door.generate(door.ticket()), client=client, gate="north")
        replay_code = door.generate(door.ticket())
        door.scan(replay_code, client=client)
        replay = door.scan(replay_code, client=client)
        assert scan_requests(door.server) - before == 4  # each request counted once
    fields = {f.alias for f in ScanOut.model_fields.values()}
    assert set(first) == set(second) == set(replay) == fields
    assert (first["reason"], second["reason"]) == ("ADMITTED", "ADMITTED")
    assert replay["reason"] == "QR_ALREADY_USED"


def test_a_malformed_body_on_a_cached_token_still_gets_field_details(door: Door) -> None:
    door.scan(door.generate(door.ticket()))  # the staff token is cached now
    response = door.staff.post("/api/scan", json={"qrData": "x", "eventId": "not-a-uuid"})
    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "eventId") in fields
    assert ("body", "deviceId") in fields


def test_a_device_of_another_venue_is_still_audited_on_a_cached_token(door: Door) -> None:
    door.scan(door.generate(door.ticket()))
    foreign = door.new_device(venue="00000000-0000-4000-8000-00000000beef")
    decision = door.scan(door.generate(door.ticket()), device=foreign)
    assert decision["reason"] == "UNAUTHORIZED_VENUE"
    audit = door.admin.get("/api/audit").json()
    entries = audit["entries"] if isinstance(audit, dict) else audit
    assert any(foreign in str(entry) for entry in entries)


def fast_scans(server: ServerProcess, caller: str) -> int:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = re.search(
        rf'^scanctl_scan_fast_path_total\{{caller="{caller}"\}} ([0-9.e+]+)$', text, re.M
    )
    return 0 if found is None else int(float(found.group(1)))


def test_gates_with_device_tokens_take_the_fast_path_until_revoked(door: Door) -> None:
    gate = register_gate(door.server, Venue(door.tenant, door.venue, door.event))
    before = fast_scans(door.server, "device")
    with gate.client(door.server) as http:

        def scan() -> httpx.Response:
            body = {"qrData": door.mint(door.ticket()), "eventId": door.event}
            return http.post("/api/scan", json={**body, "deviceId": gate.device_id})

        first, second, third = scan(), scan(), scan()
        assert [r.json()["reason"] for r in (first, second, third)] == ["ADMITTED"] * 3
        # The first verified the token (the route); the next ones skipped the framework.
        assert fast_scans(door.server, "device") - before == 2
        revoked = door.admin.delete(f"/api/devices/{gate.device_id}")
        assert revoked.status_code in (200, 204), revoked.text
        # Revocation stops the device at once, with the route's answer.
        assert scan().status_code == 401
    assert fast_scans(door.server, "device") - before == 2
