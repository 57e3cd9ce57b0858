"""GET /api/conflicts and the conflicts of reconcile answers, on a real server: every kind."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanctl.backend.auth.principal import Role
from scanctl.core import static_code_hash
from tests.backend.helpers import ServerProcess, new_id, run_cli
from tests.backend.offline_kit import (
    SCANNED_MS,
    Gate,
    Venue,
    admin,
    make_venue,
    offline_scan,
    push,
    register_gate,
)

MIN = 60_000
PRINTED = "Pr1nted-secret-Zm9vYmFyYmF6cXV4cXV1eA"
PRINTED_STORED = "sha256:" + static_code_hash(PRINTED)


def listed(server: ServerProcess, token: str, event: str, **params: str) -> Any:
    with server.client(token) as http:
        return http.get("/api/conflicts", params={"eventId": event, **params})


def double_entries(server: ServerProcess, venue: Venue, a: Gate, b: Gate) -> dict[str, str]:
    """One ticket per kind, admitted at both gates; ticket -> the kind expected."""
    t_code, t_printed, t_noexit, t_over, t_fine = venue.ticket_ids[:5]
    scan = offline_scan
    first = [
        scan(t_code, at_ms=SCANNED_MS, gate="north", nonce="00000000000000aa"),
        scan(t_printed, at_ms=SCANNED_MS, gate="north", qr_data=PRINTED),
        scan(t_noexit, at_ms=SCANNED_MS, gate="north"),
        scan(t_over, at_ms=SCANNED_MS, gate="north"),
        scan(t_over, at_ms=SCANNED_MS + 20 * MIN, gate="north", direction="exit"),
        scan(t_fine, at_ms=SCANNED_MS, gate="north"),
        scan(t_fine, at_ms=SCANNED_MS + MIN, gate="north", direction="exit"),
    ]
    second = [
        scan(t_code, at_ms=SCANNED_MS + MIN, gate="south", nonce="00000000000000aa"),
        # As gates journal and upload it now: the printed code's hash, not the code.
        scan(t_printed, at_ms=SCANNED_MS + 2 * MIN, gate="south", qr_data=PRINTED_STORED),
        scan(t_noexit, at_ms=SCANNED_MS + 3 * MIN, gate="south"),
        scan(t_over, at_ms=SCANNED_MS + 30 * MIN, gate="south"),  # re-entry: 1 allowed
        scan(t_over, at_ms=SCANNED_MS + 40 * MIN, gate="south", direction="exit"),
        scan(t_over, at_ms=SCANNED_MS + 50 * MIN, gate="south"),  # one re-entry too many
        scan(t_fine, at_ms=SCANNED_MS + 20 * MIN, gate="south"),
    ]
    first_answer = push(server, a, first)
    assert first_answer["summary"]["conflict"] == 0
    second_answer = push(server, b, second)
    kinds = {
        scan["ticketId"]: {c["kind"] for c in result.get("conflicts") or []}
        for scan, result in zip(second, second_answer["results"], strict=True)
        if result["status"] == "conflict"
    }
    assert kinds == {
        t_code: {"same-code"},
        t_printed: {"same-printed-code"},
        t_noexit: {"entry-without-exit"},
        t_over: {"over-allowance"},
    }
    return {
        t_code: "same-code",
        t_printed: "same-printed-code",
        t_noexit: "entry-without-exit",
        t_over: "over-allowance",
    }


def test_every_kind_is_listed_with_its_evidence_and_stable_ids(server: ServerProcess) -> None:
    venue = make_venue(
        server, "conflicts-kinds", policy={"reentry_allowed": True, "max_reentries": 1}
    )
    a, b = register_gate(server, venue), register_gate(server, venue)
    expected = double_entries(server, venue, a, b)
    manager = server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue)
    response = listed(server, manager, venue.event)
    assert response.status_code == 200, response.text
    conflicts = response.json()["conflicts"]
    assert {c["ticketId"]: c["kind"] for c in conflicts} == expected
    for conflict in conflicts:
        admissions = conflict["admissions"]
        assert {x["deviceId"] for x in admissions} == {a.device_id, b.device_id}
        assert admissions[0]["first"] and admissions[0]["deviceId"] == a.device_id
        assert admissions[0]["scanId"] == conflict["firstScanId"]
        assert admissions[0]["gate"] == "north" and admissions[-1]["gate"] == "south"
        assert {x["decidedBy"] for x in admissions} == {"offline"}
        assert set(admissions[0]) >= {"scanId", "deviceId", "gate", "lane", "scannedAt"}
    # the printed secret and raw payloads never leave
    assert PRINTED not in response.text
    assert hashlib.sha256(PRINTED.encode()).hexdigest() not in response.text
    assert "qrData" not in response.text and "raw" not in response.text
    # the same evidence, the same ids; a re-push answers with the same ids
    again = listed(server, manager, venue.event).json()["conflicts"]
    assert [c["id"] for c in again] == [c["id"] for c in conflicts]
    # since: only what became known at or after it
    future = datetime.now(UTC).replace(year=2099).isoformat()
    assert listed(server, manager, venue.event, since=future).json()["conflicts"] == []
    past = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
    assert len(listed(server, manager, venue.event, since=past).json()["conflicts"]) == 4


def test_a_device_sees_the_conflicts_of_its_own_scans_only(server: ServerProcess) -> None:
    venue = make_venue(
        server, "conflicts-device", policy={"reentry_allowed": True, "max_reentries": 1}
    )
    a, b, c = (register_gate(server, venue) for _ in range(3))
    double_entries(server, venue, a, b)
    with admin(server, venue.tenant) as http:
        every = http.get("/api/conflicts", params={"eventId": venue.event}).json()
    assert len(every["conflicts"]) == 4
    # the earlier uploader hears of every conflict it is part of
    seen_by_a = listed(server, a.token(), venue.event).json()["conflicts"]
    assert [x["id"] for x in seen_by_a] == [x["id"] for x in every["conflicts"]]
    assert listed(server, c.token(), venue.event).json()["conflicts"] == []


def test_who_may_list_conflicts(server: ServerProcess) -> None:
    venue = make_venue(server, "conflicts-auth")
    other_venue = make_venue(server, "conflicts-auth")
    assert listed(server, "", venue.event).status_code == 401
    staff = server.token(Role.VENUE_STAFF, venue.tenant, venue.venue)
    assert listed(server, staff, venue.event).status_code == 403
    manager_elsewhere = server.token(Role.VENUE_MANAGER, venue.tenant, other_venue.venue)
    assert listed(server, manager_elsewhere, venue.event).status_code in (403, 404)
    stranger = server.token(Role.ADMIN, "conflicts-auth-other")
    assert listed(server, stranger, venue.event).status_code == 404
    admin_token = server.token(Role.ADMIN, venue.tenant)
    assert listed(server, admin_token, new_id()).status_code == 404
    assert listed(server, admin_token, "not-a-uuid").status_code in (400, 422)
    with server.client() as http:
        spec = http.get("/openapi.json").json()
    route = spec["paths"]["/api/conflicts"]["get"]
    assert {"401", "403", "404"} <= set(route["responses"])


def test_the_cli_lists_conflicts_for_people_and_scripts(
    server: ServerProcess, tmp_path: Path
) -> None:
    venue = make_venue(
        server, "conflicts-cli", policy={"reentry_allowed": True, "max_reentries": 1}
    )
    a, b = register_gate(server, venue), register_gate(server, venue)
    expected = double_entries(server, venue, a, b)
    manager = server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue)
    as_json = run_cli(
        tmp_path, server.url, manager, "conflicts", "list", "--event", venue.event, "--json"
    )
    assert as_json.returncode == 1, as_json.stderr  # conflicts found
    body = json.loads(as_json.stdout)
    assert {c["ticketId"]: c["kind"] for c in body["conflicts"]} == expected
    assert set(body["conflicts"][0]) == {
        "id", "kind", "eventId", "ticketId", "detectedAt", "firstScanId", "admissions",
    }  # fmt: skip
    table = run_cli(tmp_path, server.url, manager, "conflicts", "list", "--event", venue.event)
    assert table.returncode == 1
    for ticket, kind in expected.items():
        line = next(row for row in table.stdout.splitlines() if ticket in row)
        assert kind in line and "north" in line and "south" in line and "(first)" in line
    later = run_cli(
        tmp_path, server.url, manager, "conflicts", "list", "--event", venue.event,
        "--since", "2099-01-01T00:00:00Z", "--json",
    )  # fmt: skip
    assert later.returncode == 0 and json.loads(later.stdout) == {"conflicts": []}
    staff = server.token(Role.VENUE_STAFF, venue.tenant, venue.venue)
    refused = run_cli(tmp_path, server.url, staff, "conflicts", "list", "--event", venue.event)
    assert refused.returncode == 4 and "Traceback" not in refused.stderr
