"""Two backend processes on one PostgreSQL database: a ticket is admitted once, a nonce
used once, and two offline uploads of one ticket give one acceptance and one conflict.

Each instance has its own scan writer, so nothing in memory orders their decisions;
only the database does (the writer locks the ticket row, then reads its history and
nonces under READ COMMITTED). The scans are spread over both instances and fired at
once, round after round; the scans table is then checked as the source of truth.

``SCANCTL_TEST_INSTANCE_ROUNDS`` lowers the 50 rounds on a developer's machine; with
CI=true fewer than 50 are never run.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from scanctl.client import DeviceAuth, ScanctlClient
from tests.backend.helpers import (
    ServerProcess,
    fresh_secret,
    fresh_signing_key,
    start_server,
)
from tests.backend.offline_kit import Venue, offline_scan, register_gate, sign_codes
from tests.backend.postgres_kit import fresh_database, migrate_as_owner, service_role
from tests.backend.scan_kit import Door, RawHttp, open_door

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONCURRENT = 100
CI_ROUNDS = 50


def _rounds() -> int:
    wanted = int(os.environ.get("SCANCTL_TEST_INSTANCE_ROUNDS", CI_ROUNDS))
    if os.environ.get("CI", "").lower() == "true":
        return max(wanted, CI_ROUNDS)
    return max(wanted, 1)


@dataclass
class Cluster:
    """Two instances of one deployment, a door opened through the first, the owner's URL."""

    instances: tuple[ServerProcess, ServerProcess]
    door: Door
    owner_url: str

    def connections(self, per_instance: int) -> list[RawHttp]:
        """Keep-alive connections, alternating between the instances."""
        token = self.door.staff.headers["Authorization"].removeprefix("Bearer ")
        return [RawHttp(self.instances[i % 2].port, token) for i in range(per_instance * 2)]

    def admissions(self, event: str) -> Counter[str]:
        """Admitted scans per ticket, read from the database (as its owner, all tenants)."""
        engine = create_engine(self.owner_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT ticket_id, count(*) FROM scans "
                        "WHERE event_id = :e AND allowed GROUP BY ticket_id"
                    ),
                    {"e": event},
                ).all()
        finally:
            engine.dispose()
        return Counter({ticket: count for ticket, count in rows})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with fresh_database() as owner_url:
        # Migrated once, by the owner, before any instance starts: instances never race
        # each other's migrations (PostgreSQL instances do not migrate at start).
        migrate_as_owner(owner_url)
        with service_role(owner_url) as service_url:
            shared = {
                "DATABASE_URL": service_url,
                "HMAC_SECRET": fresh_secret(),
                "JWT_SECRET": fresh_secret(),
                "MANIFEST_SIGNING_KEY": fresh_signing_key(),
                "DEVICE_REGISTRATION_LIMIT": "1000/hour",
            }
            root = tmp_path_factory.mktemp("instances")
            first = start_server(root / "a", **shared)
            try:
                second = start_server(root / "b", **shared)
                try:
                    door = open_door(first)
                    door.policy(scanner_rate_limit_per_minute=100_000)
                    try:
                        yield Cluster((first, second), door, owner_url)
                    finally:
                        door.admin.close()
                        door.staff.close()
                finally:
                    assert second.stop() == 0, second.log()
            finally:
                assert first.stop() == 0, first.log()


async def _fire(connections: list[RawHttp], bodies: list[dict[str, str]]) -> Counter[str]:
    answers = await asyncio.gather(
        *(http.post("/api/scan", body) for http, body in zip(connections, bodies, strict=True))
    )
    assert {status for status, _ in answers} == {200}, answers
    return Counter(body["reason"] for _, body in answers)


def _run(
    cluster: Cluster, per_instance: int, rounds: list[list[dict[str, str]]]
) -> list[Counter[str]]:
    async def run() -> list[Counter[str]]:
        connections = cluster.connections(per_instance)  # kept open across rounds
        try:
            return [await _fire(connections, bodies) for bodies in rounds]
        finally:
            for http in connections:
                await http.close()

    return asyncio.run(run())


def test_one_admission_out_of_a_hundred_across_two_instances(cluster: Cluster) -> None:
    door = cluster.door
    tickets = [door.ticket() for _ in range(_rounds())]

    def burst(ticket: str) -> list[dict[str, str]]:
        # A fresh valid token per scan: only the ticket's history can refuse them.
        return [
            {"qrData": door.mint(ticket), "eventId": door.event, "deviceId": door.device}
            for _ in range(CONCURRENT)
        ]

    results = _run(cluster, CONCURRENT // 2, [burst(ticket) for ticket in tickets])
    for ticket, reasons in zip(tickets, results, strict=True):
        assert reasons == {"ADMITTED": 1, "ALREADY_SCANNED": CONCURRENT - 1}, (ticket, reasons)
    assert cluster.admissions(door.event) == dict.fromkeys(tickets, 1)


def test_the_same_nonce_at_both_instances_succeeds_once(cluster: Cluster) -> None:
    door = cluster.door
    # Re-entry at any time: the ticket's history would admit every copy, so only the
    # nonce can refuse them.
    event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    door.policy(
        event,
        reentry_allowed=True,
        duplicate_window_seconds=0,
        cooldown_seconds=0,
        scanner_rate_limit_per_minute=100_000,
    )
    copies = 10
    tickets = [door.ticket(event) for _ in range(20)]

    def same_token(ticket: str) -> list[dict[str, str]]:
        token = door.mint(ticket, event)
        return [{"qrData": token, "eventId": event, "deviceId": door.device}] * copies

    results = _run(cluster, copies // 2, [same_token(ticket) for ticket in tickets])
    for ticket, reasons in zip(tickets, results, strict=True):
        assert reasons == {"ADMITTED": 1, "QR_ALREADY_USED": copies - 1}, (ticket, reasons)
    assert cluster.admissions(event) == dict.fromkeys(tickets, 1)


def test_two_gates_uploading_one_ticket_to_both_instances_get_one_conflict(
    cluster: Cluster,
) -> None:
    """Offline, two gates admitted the same ticket; their uploads reach the two instances
    at the same moment. The database orders them: one is accepted, the other is the
    conflict (never two acceptances, which would hide the over-admission)."""
    door = cluster.door
    venue = Venue(door.tenant, door.venue, door.event)
    gates = [register_gate(instance, venue) for instance in cluster.instances]
    clients = [
        ScanctlClient(
            instance.url, DeviceAuth(gate.device_id, door.tenant, door.venue, gate.keys.signing)
        )
        for instance, gate in zip(cluster.instances, gates, strict=True)
    ]
    now_ms = time.time_ns() // 1_000_000
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for _ in range(max(_rounds() // 2, 1)):
                ticket = door.ticket()
                start = threading.Barrier(2)

                def push(side: int, ticket: str = ticket, start: threading.Barrier = start) -> str:
                    (scan,) = sign_codes(
                        cluster.instances[0].env["HMAC_SECRET"],
                        door.tenant,
                        door.event,
                        [offline_scan(ticket, at_ms=now_ms - side, gate=f"gate-{side}")],
                    )
                    start.wait(timeout=10)
                    answer = clients[side].reconcile(gates[side].device_id, [scan])
                    status: str = answer["results"][0]["status"]
                    return status

                statuses = sorted(pool.map(push, (0, 1)))
                assert statuses == ["accepted", "conflict"], ticket
    finally:
        for client in clients:
            client.close()
