"""Two scanning instances on one Redis and one upstream: the change webhook reaches both.

Backend U plays the platform's ticket and event services; backends A and B scan from
it, behind an imagined load balancer, sharing a Redis. The platform tells A alone that
a ticket changed; B must ask the ticket service again at once, not after its 5 min TTL
(a refunded ticket admitted at B). Each instance has its own SQLite database here: the
ticket data under test comes from U and the invalidation through Redis, and nothing of
it goes through a database the instances share.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import (
    ServerProcess,
    fresh_secret,
    fresh_signing_key,
    new_id,
    start_server,
    wait_for,
)
from tests.backend.redis_kit import PrivateRedis, metric, redis_server
from tests.backend.scan_kit import independent_token, iso

pytestmark = [pytest.mark.redis, pytest.mark.slow]

__all__ = ["redis_server"]  # the fixture, used below


@dataclass
class Instance:
    server: ServerProcess
    admin: httpx.Client
    staff: httpx.Client

    def metric(self, name: str, **labels: str) -> float:
        return metric(httpx.get(f"{self.server.url}/metrics", timeout=5).text, name, **labels)

    def received(self) -> float:
        """Invalidations this instance took from the Redis channel."""
        return self.metric("scanctl_redis_invalidations_received_total")


@dataclass
class Deployment:
    upstream: ServerProcess
    catalog: httpx.Client  # an ADMIN of U
    a: Instance
    b: Instance
    system_a: httpx.Client  # the platform calling A's webhook
    tenant: str
    venue: str
    event: str
    device: str

    def set_tickets(self, *tickets: str, status: str = "ACTIVE") -> None:
        response = self.catalog.post(
            f"/api/catalog/events/{self.event}/tickets",
            json={"tickets": [{"id": t, "status": status} for t in tickets]},
        )
        assert response.status_code == 200, response.text

    def read(self, at: Instance, ticket: str) -> None:
        """Have the instance fetch (and cache) the ticket, without admitting anyone."""
        response = at.admin.get(f"/api/qr/generate/{ticket}", params={"eventId": self.event})
        assert response.status_code == 200, response.text

    def decision(self, at: Instance, ticket: str) -> str:
        code = independent_token(
            at.server.env["HMAC_SECRET"],
            self.tenant,
            self.event,
            ticket,
            int(time.time() * 1000),
        )
        response = at.staff.post(
            "/api/scan", json={"qrData": code, "eventId": self.event, "deviceId": self.device}
        )
        assert response.status_code == 200, response.text
        reason: str = response.json()["reason"]
        return reason

    def changed(self, **body: object) -> None:
        """The platform's webhook, sent to A only."""
        response = self.system_a.post("/api/upstream/changes", json={"eventId": self.event, **body})
        assert response.status_code == 200, response.text


@pytest.fixture
def deployment(redis_server: PrivateRedis, tmp_path: Path) -> Iterator[Deployment]:
    tenant = f"up-{secrets.token_hex(3)}"
    venue, event, device = new_id(), new_id(), new_id()
    clients: list[httpx.Client] = []
    servers: list[ServerProcess] = []
    try:
        upstream = start_server(tmp_path / "upstream")
        servers.append(upstream)
        catalog = upstream.client(upstream.token(Role.ADMIN, tenant))
        clients.append(catalog)
        response = catalog.post(
            "/api/catalog/events",
            json={
                "id": event,
                "venueId": venue,
                "name": "Two doors",
                "startsAt": iso(timedelta(hours=-1)),
                "endsAt": iso(timedelta(hours=5)),
            },
        )
        assert response.status_code == 201, response.text
        # The same secrets on every instance (codes and tokens are good at both).
        shared = {
            "REDIS_URL": redis_server.url,
            "REDIS_KEY_PREFIX": f"test-{secrets.token_hex(4)}:",
            "HMAC_SECRET": fresh_secret(),
            "JWT_SECRET": fresh_secret(),
            "MANIFEST_SIGNING_KEY": fresh_signing_key(),
            "TICKET_SERVICE_URL": upstream.url,
            "EVENT_SERVICE_URL": upstream.url,
            "UPSTREAM_TOKEN": upstream.token(Role.SYSTEM, tenant, ttl=3600),
            "UPSTREAM_TENANT": tenant,
        }
        instances = []
        for name in ("a", "b"):
            server = start_server(tmp_path / name, **shared)
            servers.append(server)
            admin = server.client(server.token(Role.ADMIN, tenant))
            staff = server.client(server.token(Role.VENUE_STAFF, tenant, venue))
            clients += [admin, staff]
            # Devices live in each instance's own database here.
            response = admin.post(
                "/api/devices/register",
                json={"deviceId": device, "name": "Gate", "type": "SCANNER_GUN", "venueId": venue},
            )
            assert response.status_code == 201, response.text
            instances.append(Instance(server, admin, staff))
        a, b = instances
        system_a = a.server.client(a.server.token(Role.SYSTEM, tenant))
        clients.append(system_a)
        yield Deployment(upstream, catalog, a, b, system_a, tenant, venue, event, device)
    finally:
        for client in clients:
            client.close()
        for server in reversed(servers):
            assert server.stop() == 0, server.log()


def test_a_change_sent_to_one_instance_reaches_the_other(deployment: Deployment) -> None:
    d = deployment
    d.set_tickets("00000001", "00000002", "00000003")
    for instance in (d.a, d.b):
        for ticket in ("00000001", "00000002", "00000003"):
            d.read(instance, ticket)
    # B holds fresh copies: it would answer from them for 5 min without asking U.
    assert d.b.metric("scanctl_upstream_cache_lookups_total", kind="ticket", result="miss") >= 3

    # Refunded upstream; the platform tells A alone which ticket changed.
    d.set_tickets("00000001", status="REFUNDED")
    received = d.b.received()
    d.changed(ticketIds=["00000001"])
    wait_for(lambda: d.b.received() > received, timeout=5, what="B to hear of the change")
    assert d.decision(d.b, "00000001") == "TICKET_REFUNDED"
    assert d.decision(d.a, "00000001") == "TICKET_REFUNDED"
    # Only the named ticket was dropped: the others still answer from B's memory.
    asked = d.b.metric("scanctl_upstream_requests_total", outcome="ok", service="tickets")
    assert d.decision(d.b, "00000003") == "ADMITTED"
    assert d.b.metric("scanctl_upstream_requests_total", outcome="ok", service="tickets") == asked

    # Without ticket ids: the whole event is asked for again, at both instances.
    d.set_tickets("00000002", status="CANCELLED")
    received = d.b.received()
    d.changed()
    wait_for(lambda: d.b.received() > received, timeout=5, what="B to hear of the change")
    assert d.decision(d.b, "00000002") == "TICKET_CANCELLED"
    assert d.decision(d.a, "00000002") == "TICKET_CANCELLED"
