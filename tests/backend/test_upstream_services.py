"""Upstream ticket and event services, end to end on 127.0.0.1.

Backend A plays the platform's ticket and event services (its catalog routes); backend B
scans, with ``TICKET_SERVICE_URL``/``EVENT_SERVICE_URL`` pointing at A. Devices, scans
and nonces live in B's database; events and tickets come from A. A is stopped and
started again mid-run, on the same port and data directory.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scanctl.backend.auth.principal import Role
from scanctl.core import static_code_hash
from scanctl.manifests import ManifestVerifier
from tests.backend.helpers import (
    SCANCTL,
    ServerProcess,
    new_id,
    start_server,
    wait_for,
)
from tests.backend.offline_kit import Gate, Venue, register_gate
from tests.backend.scan_kit import create_live_event, independent_token, iso
from tests.backend.upstream.loopback import Answer, loopback

pytestmark = pytest.mark.slow


def restart(server: ServerProcess) -> ServerProcess:
    """The same server again: same port, environment and data directory."""
    with server.log_path.open("ab") as log:
        process = subprocess.Popen(
            [SCANCTL, "server", "run", "--port", str(server.port)],
            env=dict(server.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    again = ServerProcess(process, server.port, server.env, server.log_path)
    wait_for(again.ready, timeout=30, what="the upstream backend to be ready again")
    return again


def metric_value(server: ServerProcess, name: str, **labels: str) -> float:
    """The sum of the samples of B's /metrics with these labels (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


@dataclass
class Platform:
    upstream: ServerProcess  # A: the ticket and event services
    scanner: ServerProcess  # B: the scanning backend
    tenant: str
    venue: str
    event: str
    device: str
    catalog: httpx.Client  # an ADMIN of A
    admin: httpx.Client  # an ADMIN of B
    staff: httpx.Client  # a VENUE_STAFF of B
    system: httpx.Client  # the platform calling B's webhook

    def add_tickets(self, *tickets: str, **fields: Any) -> None:
        response = self.catalog.post(
            f"/api/catalog/events/{self.event}/tickets",
            json={"tickets": [{"id": t, **fields} for t in tickets]},
        )
        assert response.status_code == 200, response.text

    def code(self, ticket: str, event: str | None = None) -> str:
        return independent_token(
            self.scanner.env["HMAC_SECRET"],
            self.tenant,
            event or self.event,
            ticket,
            int(time.time() * 1000),
        )

    def scan(self, code: str) -> httpx.Response:
        return self.staff.post(
            "/api/scan",
            json={"qrData": code, "eventId": self.event, "deviceId": self.device},
        )

    def decision(self, code: str) -> str:
        response = self.scan(code)
        assert response.status_code == 200, response.text
        reason: str = response.json()["reason"]
        return reason

    def scanner_ready(self) -> dict[str, Any]:
        response = httpx.get(f"{self.scanner.url}/ready", timeout=5)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def breaker(self, service: str) -> float:
        return metric_value(self.scanner, "scanctl_upstream_breaker_state", service=service)

    def pull_manifest(self) -> tuple[Gate, httpx.Response]:
        """A new offline gate and its manifest of the event (B copies A's tickets for it)."""
        gate = register_gate(self.scanner, Venue(self.tenant, self.venue, self.event))
        with gate.client(self.scanner) as http:
            response = http.get(f"/api/offline/manifest/{self.event}")
        assert response.status_code == 200, response.text
        return gate, response


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    tenant = f"up-{secrets.token_hex(3)}"
    venue, event = new_id(), new_id()
    upstream = start_server(tmp_path / "upstream")
    scanner: ServerProcess | None = None
    clients: list[httpx.Client] = []
    try:
        catalog = upstream.client(upstream.token(Role.ADMIN, tenant))
        clients.append(catalog)
        create_live_event(catalog, event, venue, "Upstream night")
        scanner = start_server(
            tmp_path / "scanner",
            TICKET_SERVICE_URL=upstream.url,
            EVENT_SERVICE_URL=upstream.url,
            UPSTREAM_TOKEN=upstream.token(Role.SYSTEM, tenant, ttl=3600),
            UPSTREAM_TENANT=tenant,
            UPSTREAM_TIMEOUT_SECONDS="0.3",
            UPSTREAM_FAILURE_THRESHOLD="3",
            UPSTREAM_RESET_SECONDS="1",
        )
        admin = scanner.client(scanner.token(Role.ADMIN, tenant))
        staff = scanner.client(scanner.token(Role.VENUE_STAFF, tenant, venue))
        system = scanner.client(scanner.token(Role.SYSTEM, tenant))
        clients += [admin, staff, system]
        device = new_id()
        response = admin.post(
            "/api/devices/register",
            json={"deviceId": device, "name": "Gate 1", "type": "SCANNER_GUN", "venueId": venue},
        )
        assert response.status_code == 201, response.text
        running = Platform(
            upstream, scanner, tenant, venue, event, device, catalog, admin, staff, system
        )
        yield running
        upstream = running.upstream  # the test may have restarted it
    finally:
        for client in clients:
            client.close()
        if scanner is not None:
            assert scanner.stop() == 0, scanner.log()
        upstream.stop()


def test_scans_decide_from_the_upstream_catalog_and_through_its_outage(
    platform: Platform,
) -> None:
    p = platform
    p.add_tickets("00000001", "00000002", "00000003")
    p.add_tickets("0000000f", status="REFUNDED")

    # Door policy is B's own; setting it fetches the event from A and copies it into B.
    response = p.admin.put(f"/api/policies/{p.event}", json={"duplicate_window_seconds": 900})
    assert response.status_code == 200, response.text
    assert p.admin.put(f"/api/policies/{new_id()}", json={}).status_code == 404  # not in A
    # Codes for an upstream ticket (its event named).
    response = p.admin.get("/api/qr/generate/00000003", params={"eventId": p.event})
    assert response.status_code == 200, response.text
    assert response.json()["ticketId"] == "00000003"

    # Fetched from A: admitted, then refused as a duplicate (B's own scan history).
    assert p.decision(p.code("00000001")) == "ADMITTED"
    assert p.decision(p.code("00000001")) == "ALREADY_SCANNED"
    assert p.decision(p.code("0000000f")) == "TICKET_REFUNDED"
    assert p.decision(p.code("000000ee")) == "INVALID"  # A says: no such ticket
    # A code of another of A's events that B knows of (here: it has a policy in B).
    tomorrow = new_id()
    response = p.catalog.post(
        "/api/catalog/events",
        json={
            "id": tomorrow,
            "venueId": p.venue,
            "name": "Tomorrow",
            "startsAt": iso(timedelta(days=1)),
            "endsAt": iso(timedelta(days=1, hours=5)),
        },
    )
    assert response.status_code == 201, response.text
    response = p.catalog.post(
        f"/api/catalog/events/{tomorrow}/tickets", json={"tickets": [{"id": "000000a1"}]}
    )
    assert response.status_code == 200, response.text
    assert p.admin.put(f"/api/policies/{tomorrow}", json={}).status_code == 200
    assert p.decision(p.code("000000a1", tomorrow)) == "WRONG_EVENT"
    # A forged code never reaches the ticket service.
    sent = metric_value(p.scanner, "scanctl_upstream_requests_total", service="tickets")
    assert p.decision("000000dd:" + "1" * 13 + ":" + "0" * 16 + ":" + "f" * 64) == "INVALID"
    assert metric_value(p.scanner, "scanctl_upstream_requests_total", service="tickets") == sent
    # The event was copied into B (its scans refer to it there).
    shown = p.staff.get(f"/api/catalog/events/{p.event}")
    assert shown.status_code == 200 and shown.json()["name"] == "Upstream night"
    assert (
        metric_value(p.scanner, "scanctl_upstream_cache_lookups_total", kind="ticket", result="hit")
        >= 1
    )
    assert p.breaker("tickets") == 0 and p.breaker("events") == 0
    ready = p.scanner_ready()
    assert (ready["degraded"], ready["details"]["upstream"]) == (
        False,
        {"events": "closed", "tickets": "closed"},
    )

    # A goes away. A fresh cached ticket answers without the network at all.
    assert p.upstream.stop() == 0
    calls = "scanctl_upstream_requests_total"
    sent = metric_value(p.scanner, calls, service="tickets")
    sent += metric_value(p.scanner, calls, service="events")
    started = time.monotonic()
    assert p.decision(p.code("00000001")) == "ALREADY_SCANNED"
    assert time.monotonic() - started < 1.0
    after = metric_value(p.scanner, calls, service="tickets")
    assert after + metric_value(p.scanner, calls, service="events") == sent  # nothing asked

    # The platform says the event changed: the cached copies must be asked for again;
    # A is down, so the last good data decides.
    response = p.system.post("/api/upstream/changes", json={"eventId": p.event})
    assert response.status_code == 200, response.text
    assert response.json()["expired"] >= 3
    fallbacks = "scanctl_upstream_cache_lookups_total"
    before = metric_value(p.scanner, fallbacks, kind="ticket", result="fallback")
    assert p.decision(p.code("00000001")) == "ALREADY_SCANNED"
    assert metric_value(p.scanner, fallbacks, kind="ticket", result="fallback") == before + 1

    # A ticket B never saw cannot be decided: 503, not a wrong INVALID; quickly.
    slowest = 0.0

    def unseen_is_unavailable() -> bool:
        nonlocal slowest
        started = time.monotonic()
        response = p.scan(p.code("00000002"))
        slowest = max(slowest, time.monotonic() - started)
        assert response.status_code == 503, response.text
        assert response.json()["service"] == "ticket"
        assert response.headers["Retry-After"]
        return p.breaker("tickets") == 2

    wait_for(unseen_is_unavailable, timeout=15, interval=0.05, what="the breaker to open")
    assert slowest < 1.0, f"a scan took {slowest:.2f} s while the service was down"
    ready = p.scanner_ready()  # still 200: cached tickets decide; but said to be degraded
    assert (ready["degraded"], ready["details"]["upstream"]["tickets"]) == (True, "open")
    # Open: the cached tickets still decide.
    assert p.decision(p.code("00000001")) == "ALREADY_SCANNED"
    assert p.decision(p.code("0000000f")) == "TICKET_REFUNDED"

    # A comes back on the same port with the same data; a ticket sold meanwhile scans.
    p.upstream = restart(p.upstream)
    p.add_tickets("00000004")

    def admitted_again() -> bool:
        response = p.scan(p.code("00000002"))
        if response.status_code == 503:  # still open until the probe may go
            return False
        assert response.status_code == 200, response.text
        assert response.json()["reason"] == "ADMITTED"
        return True

    wait_for(admitted_again, timeout=15, interval=0.1, what="the half-open probe to succeed")
    assert p.breaker("tickets") == 0
    assert p.decision(p.code("00000004")) == "ADMITTED"
    assert p.decision(p.code("00000003")) == "ADMITTED"
    # Offline manifests of B carry A's tickets (copied into B's catalog when pulled).
    gate, response = p.pull_manifest()
    manifest = (
        ManifestVerifier([gate.manifest_key])
        .verify(
            response.content,
            tenant_id=p.tenant,
            venue_id=p.venue,
            event_id=p.event,
            device_id=gate.device_id,
            now_ms=time.time_ns() // 1_000_000,
        )
        .manifest
    )
    assert sorted(e.ticket_id for e in manifest.entries) == [
        "00000001",
        "00000002",
        "00000003",
        "00000004",
        "0000000f",
    ]

    # Decisions are recorded in B (each ticket admitted once), never in A; no 503 was.
    admitted: list[str] = []
    recorded = 0
    for server, client in ((p.scanner, p.admin), (p.upstream, p.catalog)):
        page = client.get("/api/scans", params={"eventId": p.event, "limit": 1000})
        assert page.status_code == 200, page.text
        if server is p.scanner:
            recorded = len(page.json()["scans"])
            admitted = sorted(s["ticketId"] for s in page.json()["scans"] if s["allowed"])
        else:
            assert page.json()["scans"] == []
    assert admitted == ["00000001", "00000002", "00000003", "00000004"]
    assert recorded == 13  # the 503s are not decisions: nothing was recorded for them


def test_printed_tickets_refunded_or_cancelled_upstream_are_refused(platform: Platform) -> None:
    p = platform
    secrets_of = {t: secrets.token_urlsafe(24) for t in ("000000b1", "000000b2")}
    for ticket, secret in secrets_of.items():
        p.add_tickets(ticket, staticHash=static_code_hash(secret))
    # B finds a printed code's ticket by its hash in its copy of A's tickets (made when a
    # gate pulls its manifest); one scanned before that is unknown until then.
    assert p.decision(secrets_of["000000b1"]) == "INVALID"
    p.pull_manifest()
    assert p.decision(secrets_of["000000b1"]) == "ADMITTED"

    # A refunds one and cancels the other, and says so: the copy in B still has them
    # active, but their facts are A's.
    p.add_tickets(
        "000000b1", status="REFUNDED", staticHash=static_code_hash(secrets_of["000000b1"])
    )
    p.add_tickets(
        "000000b2", status="CANCELLED", staticHash=static_code_hash(secrets_of["000000b2"])
    )
    response = p.system.post(
        "/api/upstream/changes", json={"eventId": p.event, "ticketIds": ["000000b1", "000000b2"]}
    )
    assert response.status_code == 200, response.text
    assert p.decision(secrets_of["000000b1"]) == "TICKET_REFUNDED"
    assert p.decision(secrets_of["000000b2"]) == "TICKET_CANCELLED"
    # B's copy is brought up to date when it copies the list again (a manifest pull after
    # the whole event changed); its audit log then says the ticket service changed them.
    whole = p.system.post("/api/upstream/changes", json={"eventId": p.event})
    assert whole.status_code == 200, whole.text
    p.pull_manifest()
    audited = p.admin.get("/api/audit", params={"action": "ticket.status"}).json()
    changes = {e["targetId"]: (e["actor"], e["actorKind"], e["outcome"]) for e in audited}
    assert changes == {
        "000000b1": ("ticket-service", "service", "REFUNDED"),
        "000000b2": ("ticket-service", "service", "CANCELLED"),
    }


def test_an_upstream_answering_junk_is_a_clear_503_and_no_crash(tmp_path: Path) -> None:
    tenant, venue, event = f"junk-{secrets.token_hex(3)}", new_id(), new_id()
    with loopback() as junk:
        junk.answer = Answer(body=b"\x00\xffnot json at all")
        scanner = start_server(
            tmp_path / "scanner",
            TICKET_SERVICE_URL=junk.url,
            EVENT_SERVICE_URL=junk.url,
            UPSTREAM_TOKEN=secrets.token_urlsafe(32),
            UPSTREAM_TENANT=tenant,
        )
        try:
            with scanner.client(scanner.token(Role.ADMIN, tenant)) as admin:
                device = new_id()
                response = admin.post(
                    "/api/devices/register",
                    json={"deviceId": device, "name": "G", "type": "SCANNER_GUN", "venueId": venue},
                )
                assert response.status_code == 201, response.text
                for body in (b"\x00\xffnot json", b'{"id": 5}', b"[]", b"null"):
                    junk.answer = Answer(body=body)
                    response = admin.post(
                        "/api/scan",
                        json={"qrData": "garbage", "eventId": event, "deviceId": device},
                    )
                    assert response.status_code == 503, response.text
                    assert response.json()["service"] == "event"
            assert junk.requests >= 1
            assert httpx.get(f"{scanner.url}/health", timeout=5).status_code == 200
            garbage = metric_value(
                scanner, "scanctl_upstream_requests_total", service="events", outcome="garbage"
            )
            assert garbage >= 1
        finally:
            assert scanner.stop() == 0, scanner.log()
