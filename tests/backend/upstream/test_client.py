"""`ServiceClient` against a real loopback HTTP server: answers, junk, timeouts, the breaker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from scanctl.backend.upstream.client import MAX_BODY_BYTES, ServiceClient
from scanctl.backend.upstream.errors import (
    BreakerOpen,
    UpstreamCallFailed,
    UpstreamDown,
    UpstreamGarbage,
    UpstreamRejected,
    UpstreamTimeout,
)
from scanctl.backend.upstream.metrics import UpstreamMetrics
from scanctl.backend.upstream.models import parse_ticket
from scanctl.core import TicketFacts
from tests.backend.upstream.loopback import Answer, Loopback, loopback

EVENT = "0b9f1a52-3c1e-4f7e-9d51-5d1f4f0e2a11"
TICKET = "0000abcd"
PATH = f"/api/catalog/events/{EVENT}/tickets/{TICKET}"
GOOD = json.dumps(
    {"id": TICKET, "eventId": EVENT, "status": "ACTIVE", "zones": ["floor"], "extra": 1}
).encode()


@pytest.fixture
def server() -> Iterator[Loopback]:
    with loopback() as running:
        yield running


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    """One event loop per test: the client's pooled connections belong to it."""
    with asyncio.Runner() as loop:
        yield loop


class Harness:
    """A client of the loopback server, driven from a sync test on one event loop."""

    def __init__(
        self, server: Loopback, loop: asyncio.Runner, threshold: int, reset: float, timeout: float
    ) -> None:
        self.registry = CollectorRegistry()
        self.loop = loop
        self.client = ServiceClient(
            "tickets",
            server.url,
            "the-token",
            timeout_seconds=timeout,
            failure_threshold=threshold,
            reset_seconds=reset,
            metrics=UpstreamMetrics(self.registry),
        )

    def fetch(self) -> TicketFacts | None:
        return self.loop.run(self.client.get(PATH, lambda doc: parse_ticket(doc, EVENT, TICKET)))

    def state(self) -> str:
        return self.client.breaker_state()

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    def exposition(self) -> str:
        return generate_latest(self.registry).decode()


Make = Callable[..., Harness]
REQUESTS = "scanctl_upstream_requests_total"


@pytest.fixture
def make(server: Loopback, runner: asyncio.Runner) -> Iterator[Make]:
    made: list[Harness] = []

    def factory(threshold: int = 3, reset: float = 0.5, timeout: float = 0.3) -> Harness:
        harness = Harness(server, runner, threshold, reset, timeout)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        runner.run(harness.client.aclose())


def test_a_ticket_is_fetched_with_the_token(server: Loopback, make: Make) -> None:
    server.answer = Answer(body=GOOD)
    up = make()
    ticket = up.fetch()
    assert ticket is not None and ticket.zones == frozenset({"floor"})
    assert server.paths == [PATH]
    assert server.authorization == ["Bearer the-token"]
    assert up.metric(REQUESTS, service="tickets", outcome="ok") == 1


def test_404_is_an_answer_not_a_failure(server: Loopback, make: Make) -> None:
    server.answer = Answer(status=404, body=b'{"detail":"ticket not found"}')
    up = make(threshold=1)
    assert up.fetch() is None
    assert up.fetch() is None  # a threshold of one failure would have opened it
    assert up.state() == "closed"
    assert server.requests == 2
    assert up.metric(REQUESTS, service="tickets", outcome="not_found") == 2


WRONG_ID = json.dumps({"id": "0000abce", "eventId": EVENT, "status": "ACTIVE"}).encode()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(body=b"<html>hello</html>"), UpstreamGarbage),
        (Answer(body=b'{"id": "zzzz"}'), UpstreamGarbage),
        (Answer(body=b"[1, 2, 3]"), UpstreamGarbage),
        (Answer(body=WRONG_ID), UpstreamGarbage),
        (Answer(body=b"x" * (MAX_BODY_BYTES + 10)), UpstreamGarbage),
        (Answer(body=b"\xff\xfe\x00garbage"), UpstreamGarbage),
        (Answer(status=401, body=b"{}"), UpstreamRejected),
        (Answer(status=302, body=b""), UpstreamRejected),
        (Answer(status=500, body=b"{}"), UpstreamDown),
        (Answer(hang_up=True), UpstreamDown),
    ],
)
def test_bad_answers_are_clear_errors(
    server: Loopback, make: Make, answer: Answer, error: type[UpstreamCallFailed]
) -> None:
    server.answer = answer
    up = make()
    with pytest.raises(error):
        up.fetch()
    assert up.metric(REQUESTS, service="tickets", outcome=error.outcome) == 1


def test_a_5xx_is_retried_once(server: Loopback, make: Make) -> None:
    server.answer = Answer(status=503)
    up = make()
    with pytest.raises(UpstreamDown):
        up.fetch()
    assert server.requests == 2


def test_a_slow_service_costs_no_more_than_the_budget(server: Loopback, make: Make) -> None:
    server.answer = Answer(body=GOOD, delay=2.0)
    up = make(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        up.fetch()
    assert time.monotonic() - started < 0.8
    assert server.requests == 1  # a timeout is not retried: the budget is spent


def wait_half_open(up: Harness) -> None:
    deadline = time.monotonic() + 5
    while up.state() != "half-open":
        assert time.monotonic() < deadline, "the breaker never turned half-open"
        time.sleep(0.02)


def test_the_breaker_opens_then_a_probe_closes_it(
    server: Loopback, make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    server.answer = Answer(status=500)
    up = make(threshold=3, reset=0.5)
    for _ in range(3):
        with pytest.raises(UpstreamDown):
            up.fetch()
    assert up.state() == "open"
    opened = [r for r in caplog.records if "circuit breaker open" in r.getMessage()]
    assert len(opened) == 1  # once per change, not once per failure
    sent = server.requests
    with pytest.raises(BreakerOpen):
        up.fetch()
    assert server.requests == sent  # open: nothing is sent
    text = up.exposition()
    assert 'scanctl_upstream_breaker_state{service="tickets"} 2.0' in text
    assert 'scanctl_upstream_breaker{service="tickets",state="open"} 1.0' in text
    assert up.metric(REQUESTS, service="tickets", outcome="breaker_open") == 1

    wait_half_open(up)
    assert 'scanctl_upstream_breaker_state{service="tickets"} 1.0' in up.exposition()
    server.answer = Answer(body=GOOD)
    assert up.fetch() is not None
    assert up.state() == "closed"
    assert 'scanctl_upstream_breaker_state{service="tickets"} 0.0' in up.exposition()


def test_a_failed_probe_opens_it_again(server: Loopback, make: Make) -> None:
    server.answer = Answer(status=500)
    up = make(threshold=1, reset=0.2)
    with pytest.raises(UpstreamDown):
        up.fetch()
    wait_half_open(up)
    with pytest.raises(UpstreamDown):
        up.fetch()  # the probe
    assert up.state() == "open"


def test_half_open_lets_exactly_one_probe_go(
    server: Loopback, make: Make, runner: asyncio.Runner
) -> None:
    server.answer = Answer(status=500)
    up = make(threshold=1, reset=0.2)
    with pytest.raises(UpstreamDown):
        up.fetch()
    wait_half_open(up)
    server.answer = Answer(body=GOOD, delay=0.2)
    sent = server.requests

    async def many() -> list[object]:
        calls = [
            up.client.get(PATH, lambda doc: parse_ticket(doc, EVENT, TICKET)) for _ in range(10)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = runner.run(many())
    assert server.requests == sent + 1
    assert sum(isinstance(r, TicketFacts) for r in results) == 1
    assert sum(isinstance(r, BreakerOpen) for r in results) == 9
    assert up.state() == "closed"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["id", "eventId", "status", "zones", "validFrom", "x"]),
                    inner,
                    max_size=6,
                )
            ),
            max_leaves=12,
        ).map(lambda doc: json.dumps(doc).encode()),
    )
)
def test_any_body_is_a_ticket_or_garbage(server: Loopback, make: Make, body: bytes) -> None:
    server.answer = Answer(body=body)
    up = make(threshold=1000)
    try:
        ticket = up.fetch()
    except UpstreamGarbage:
        return
    assert ticket is not None and ticket.ticket_id == TICKET
