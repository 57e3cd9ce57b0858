"""`UpstreamCatalog` against a real loopback server and a real SQLite file: TTLs, fallback,
503, shared fetches, invalidation, and the local copy of events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from scanctl.backend.db.engine import Database, create_database
from scanctl.backend.db.migrate import upgrade
from scanctl.backend.store import Scope, get_ticket
from scanctl.backend.upstream.catalog import NOT_FOUND_TTL_MS, UpstreamCatalog
from scanctl.backend.upstream.client import ServiceClient
from scanctl.backend.upstream.errors import UpstreamUnavailable
from scanctl.backend.upstream.metrics import UpstreamMetrics
from scanctl.backend.upstream.mirror import EventMirror
from scanctl.core import TicketStatus
from tests.backend.upstream.loopback import Answer, Loopback, loopback

TENANT = "tenant-1"
EVENT = "0b9f1a52-3c1e-4f7e-9d51-5d1f4f0e2a11"
VENUE = "9a0d7e0c-8b7c-4a53-a0b6-3f2f8f1c0d22"
EVENT_PATH = f"/api/catalog/events/{EVENT}"


def ticket_path(ticket: str) -> str:
    return f"{EVENT_PATH}/tickets/{ticket}"


def event_answer(name: str = "Night") -> Answer:
    return Answer(
        body=json.dumps(
            {
                "id": EVENT,
                "venueId": VENUE,
                "name": name,
                "startsAt": "2030-06-01T18:00:00Z",
                "endsAt": "2030-06-01T23:00:00Z",
            }
        ).encode()
    )


def ticket_answer(ticket: str, status: str = "ACTIVE") -> Answer:
    return Answer(body=json.dumps({"id": ticket, "eventId": EVENT, "status": status}).encode())


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000_000

    def __call__(self) -> int:
        return self.now


class Harness:
    def __init__(self, server: Loopback, database: Database, loop: asyncio.Runner) -> None:
        self.server = server
        self.loop = loop
        self.clock = Clock()
        self.registry = CollectorRegistry()
        metrics = UpstreamMetrics(self.registry)

        def client(name: str) -> ServiceClient:
            return ServiceClient(
                name,
                server.url,
                "token",
                timeout_seconds=0.5,
                failure_threshold=100,
                reset_seconds=1,
                metrics=metrics,
            )

        self.copied: list[str] = []
        self.catalog = UpstreamCatalog(
            TENANT,
            events=client("events"),
            tickets=client("tickets"),
            mirror=EventMirror(database, self.clock),
            clock=self.clock,
            event_ttl_ms=900_000,
            ticket_ttl_ms=300_000,
            metrics=metrics,
        )
        self.catalog.on_event_copied = lambda tenant, event: self.copied.append(event)

    def ticket(self, ticket: str) -> TicketStatus | None:
        self.loop.run(self.catalog.ensure_ticket(TENANT, EVENT, ticket))
        found = self.catalog.cached_ticket(TENANT, EVENT, ticket)
        return None if found is None else found.status

    def event(self) -> str | None:
        self.loop.run(self.catalog.ensure_event(TENANT, EVENT))
        found = self.catalog.cached_event(TENANT, EVENT)
        return None if found is None else found.venue_id

    def lookups(self, kind: str, result: str) -> float:
        labels = {"kind": kind, "result": result}
        return self.registry.get_sample_value("scanctl_upstream_cache_lookups_total", labels) or 0


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = create_database(f"sqlite:///{tmp_path / 'backend.sqlite3'}")
    upgrade(db.engine)
    yield db
    db.close()


@pytest.fixture
def harness(database: Database) -> Iterator[Harness]:
    with loopback() as server, asyncio.Runner() as loop:
        made = Harness(server, database, loop)
        yield made
        loop.run(made.catalog.aclose())


def test_a_fresh_ticket_is_not_asked_for_again(harness: Harness) -> None:
    harness.server.routes[ticket_path("00000001")] = ticket_answer("00000001")
    assert harness.ticket("00000001") is TicketStatus.ACTIVE
    assert harness.ticket("00000001") is TicketStatus.ACTIVE
    assert harness.server.requests == 1
    assert harness.lookups("ticket", "miss") == 1
    assert harness.lookups("ticket", "hit") == 1


def test_after_its_ttl_a_ticket_is_asked_for_again(harness: Harness) -> None:
    harness.server.routes[ticket_path("00000001")] = ticket_answer("00000001")
    harness.ticket("00000001")
    harness.server.routes[ticket_path("00000001")] = ticket_answer("00000001", "REFUNDED")
    harness.clock.now += 299_000
    assert harness.ticket("00000001") is TicketStatus.ACTIVE  # still fresh
    harness.clock.now += 1_000
    assert harness.ticket("00000001") is TicketStatus.REFUNDED
    assert harness.server.requests == 2


def test_the_last_good_ticket_answers_while_the_service_fails(harness: Harness) -> None:
    harness.server.routes[ticket_path("00000001")] = ticket_answer("00000001")
    harness.ticket("00000001")
    harness.clock.now += 300_000
    harness.server.routes[ticket_path("00000001")] = Answer(status=503)
    assert harness.ticket("00000001") is TicketStatus.ACTIVE
    assert harness.lookups("ticket", "fallback") == 1


def test_a_ticket_never_fetched_is_unavailable_not_unknown(harness: Harness) -> None:
    harness.server.answer = Answer(status=502)
    with pytest.raises(UpstreamUnavailable) as caught:
        harness.ticket("00000002")
    assert caught.value.service == "ticket"
    assert harness.lookups("ticket", "unavailable") == 1


def test_no_such_ticket_is_believed_briefly(harness: Harness) -> None:
    harness.server.answer = Answer(status=404)
    assert harness.ticket("00000003") is None
    harness.clock.now += NOT_FOUND_TTL_MS - 1
    assert harness.ticket("00000003") is None
    assert harness.server.requests == 1
    harness.server.routes[ticket_path("00000003")] = ticket_answer("00000003")  # just sold
    harness.clock.now += 1
    assert harness.ticket("00000003") is TicketStatus.ACTIVE


def test_concurrent_misses_share_one_request(harness: Harness) -> None:
    answer = ticket_answer("00000004")
    answer.delay = 0.2
    harness.server.routes[ticket_path("00000004")] = answer

    async def many() -> None:
        await asyncio.gather(
            *(harness.catalog.ensure_ticket(TENANT, EVENT, "00000004") for _ in range(20))
        )

    harness.loop.run(many())
    assert harness.server.requests == 1
    assert harness.catalog.cached_ticket(TENANT, EVENT, "00000004") is not None


def test_invalidated_tickets_are_asked_for_again(harness: Harness) -> None:
    for ticket in ("00000005", "00000006"):
        harness.server.routes[ticket_path(ticket)] = ticket_answer(ticket)
        harness.ticket(ticket)
    assert harness.catalog.invalidate(TENANT, EVENT, ["00000005"]) == 1
    harness.ticket("00000005")
    harness.ticket("00000006")
    assert harness.server.paths.count(ticket_path("00000005")) == 2
    assert harness.server.paths.count(ticket_path("00000006")) == 1


def test_after_expire_all_everything_is_asked_for_again(harness: Harness) -> None:
    # What an instance does when its Redis subscription was lost (changes may be missed).
    for ticket in ("00000007", "00000008"):
        harness.server.routes[ticket_path(ticket)] = ticket_answer(ticket)
        harness.ticket(ticket)
    harness.catalog.expire_all()
    assert not harness.catalog.ticket_fresh(TENANT, EVENT, "00000007")
    assert harness.catalog.cached_ticket(TENANT, EVENT, "00000007") is not None  # fallback
    harness.ticket("00000007")
    assert harness.server.paths.count(ticket_path("00000007")) == 2


def test_events_are_copied_locally_and_outlive_a_restart(
    harness: Harness, database: Database
) -> None:
    harness.server.routes[EVENT_PATH] = event_answer()
    assert harness.event() == VENUE
    assert harness.copied == [EVENT]
    harness.clock.now += 900_000
    assert harness.event() == VENUE
    assert harness.copied == [EVENT]  # unchanged: not written again

    # A new process (empty memory) while the event service is down: the local copy.
    harness.server.routes[EVENT_PATH] = Answer(status=500)
    again = Harness(harness.server, database, harness.loop)
    try:
        assert again.event() == VENUE
        assert again.lookups("event", "fallback") == 1
    finally:
        harness.loop.run(again.catalog.aclose())


def test_an_event_never_seen_is_unavailable(harness: Harness) -> None:
    harness.server.answer = Answer(hang_up=True)
    with pytest.raises(UpstreamUnavailable) as caught:
        harness.event()
    assert caught.value.service == "event"


def page(tickets: list[dict[str, object]], following: str | None) -> Answer:
    return Answer(body=json.dumps({"tickets": tickets, "next": following}).encode())


def listed(ticket: str, **fields: object) -> dict[str, object]:
    return {"id": ticket, "eventId": EVENT, "status": "ACTIVE", **fields}


LIST = f"{EVENT_PATH}/tickets?limit=1000"
STATIC = "ab" * 32


def test_an_events_ticket_list_is_copied_locally_page_by_page(
    harness: Harness, database: Database
) -> None:
    harness.server.routes[EVENT_PATH] = event_answer()
    harness.event()  # the event is copied first: its tickets refer to it
    harness.server.routes[LIST] = page(
        [listed("00000010"), listed("00000011", staticHash=STATIC)], "00000011"
    )
    harness.server.routes[f"{LIST}&after=00000011"] = page([listed("00000012")], None)
    assert harness.loop.run(harness.catalog.sync_tickets(TENANT, EVENT))
    mirror = EventMirror(database, harness.clock)
    copied = [mirror.read_ticket(TENANT, EVENT, t) for t in ("00000010", "00000011", "00000012")]
    assert all(ticket is not None for ticket in copied)
    scope = Scope.tenant_wide(TENANT)
    with database.read(scope) as conn:
        assert get_ticket(scope, conn, EVENT, "00000011").static_hash == STATIC
    assert harness.catalog.ticket_fresh(TENANT, EVENT, "00000012")  # the memory cache too
    sent = harness.server.requests
    assert harness.loop.run(harness.catalog.sync_tickets(TENANT, EVENT))  # within the TTL
    assert harness.server.requests == sent

    # Down, and a ticket never fetched by itself: its copy from the list decides.
    harness.server.answer = Answer(status=500)
    harness.server.routes.clear()
    harness.catalog.tickets.expire(lambda key: True)
    fresh = Harness(harness.server, database, harness.loop)
    try:
        assert fresh.ticket("00000012") is TicketStatus.ACTIVE
        assert fresh.lookups("ticket", "fallback") == 1
    finally:
        harness.loop.run(fresh.catalog.aclose())


@pytest.mark.parametrize(
    "answer",
    [
        page([listed("00000002"), listed("00000001")], None),  # out of order
        page([listed("00000001")], "00000009"),  # `next` is not its last ticket
        page([{"id": "00000001", "eventId": VENUE, "status": "ACTIVE"}], None),  # other event
        Answer(body=b'{"tickets": "many"}'),
    ],
)
def test_a_junk_ticket_list_copies_nothing_more(harness: Harness, answer: Answer) -> None:
    harness.server.routes[EVENT_PATH] = event_answer()
    harness.event()
    harness.server.routes[LIST] = answer
    assert not harness.loop.run(harness.catalog.sync_tickets(TENANT, EVENT))
    assert harness.registry.get_sample_value(
        "scanctl_upstream_requests_total", {"service": "tickets", "outcome": "garbage"}
    )
