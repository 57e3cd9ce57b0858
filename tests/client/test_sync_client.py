"""ScanctlClient against a real loopback server: routes, errors, retries, deadline, breaker."""

from __future__ import annotations

import time

import httpx
import pytest

from scanctl.client import (
    NO_RETRY,
    BadRequest,
    BearerToken,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    ConnectFailed,
    Forbidden,
    InvalidResponse,
    NotAuthorized,
    NotFound,
    RateLimited,
    RetryPolicy,
    ScanctlClient,
    ServerError,
    ServiceUnavailable,
    TimedOut,
    Unreachable,
)
from scanctl.client.execution import RemainingTime
from scanctl.core import Decision, Reason, WireDecision, decision_to_wire, message_for
from scanctl.core.ids import uuid7
from tests.client.conftest import FAST_RETRY
from tests.client.fake_backend import Answer, FakeBackend, free_port, slow, trickling

SCAN = "POST /api/scan"
EVENT = "3f0e7c52-54c4-4c61-9a3c-1b0d6c8b2e11"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client(url: str, **kw: object) -> ScanctlClient:
    kw.setdefault("retry", FAST_RETRY)
    return ScanctlClient(url, BearerToken("person-token"), **kw)  # type: ignore[arg-type]


# -- routes -------------------------------------------------------------------------


def test_scan_admitted_and_denied_are_values(fake: FakeBackend, url: str) -> None:
    with client(url) as backend:
        ok = backend.scan("code", EVENT, "dev-1")
        denied = backend.scan("already-used", EVENT, "dev-1", timestamp="2026-11-28T19:05:00Z")
    assert ok.allowed and ok.reason is Reason.ADMITTED and ok.extra["ticketId"] == "0badcafe"
    assert not denied.allowed
    assert denied.known_reason is Reason.ALREADY_SCANNED
    assert denied.extra["gate"] == "north-1"
    first, second = fake.seen(SCAN)
    assert first.json() == {"qrData": "code", "eventId": EVENT, "deviceId": "dev-1"}
    assert second.json()["timestamp"] == "2026-11-28T19:05:00Z"
    assert first.headers["authorization"] == "Bearer person-token"
    assert first.headers["user-agent"].startswith("scanctl/")


def test_a_gate_names_its_read_and_gets_the_backends_decision_whole(
    fake: FakeBackend, url: str
) -> None:
    decision = Decision(
        False,
        Reason.ALREADY_SCANNED,
        message_for(Reason.ALREADY_SCANNED),
        "0badcafe",
        True,
        admitted_at_ms=1_764_356_531_007,
        admitted_gate="north",
        warning="second entry attempt",
    )
    scan_id = uuid7(1_764_356_700_123)
    fake.script(SCAN, Answer(body=decision_to_wire(decision, scan_id, 1_764_356_700_150)))
    with client(url) as backend:
        result = backend.scan(
            "code",
            EVENT,
            "dev-1",
            scan_id=scan_id,
            lane="north-1",
            timestamp=1_764_356_700_123,
            gate="north",
        )
    assert result.wire_decision() == WireDecision(decision, scan_id, 1_764_356_700_150)
    assert result.body["admittedGate"] == "north"
    assert fake.seen(SCAN)[0].json() == {
        "qrData": "code",
        "eventId": EVENT,
        "deviceId": "dev-1",
        "scanId": scan_id,
        "lane": "north-1",
        "timestamp": 1_764_356_700_123,
        "gate": "north",
    }


def test_an_unknown_reason_is_kept_as_sent(fake: FakeBackend, url: str) -> None:
    fake.script(SCAN, Answer(body={"allowed": False, "reason": "MOON_PHASE", "message": "no"}))
    with client(url) as backend:
        result = backend.scan("code", EVENT, "dev-1")
    assert result.reason == "MOON_PHASE" and result.known_reason is None
    with pytest.raises(ValueError, match="unknown reason"):
        result.wire_decision()


def test_every_route_reaches_the_backend_as_designed(fake: FakeBackend, url: str) -> None:
    with client(url) as backend:
        assert backend.generate_qr("0badcafe")["ticketId"] == "0badcafe"
        assert backend.register_device({"name": "north-1"})["id"] == "dev-1"
        assert [d["id"] for d in backend.list_devices()] == ["dev-1", "dev-2"]
        assert backend.get_device("dev-2")["id"] == "dev-2"
        assert backend.revoke_device("dev-2")["status"] == "REVOKED"
        assert backend.get_policy(EVENT)["duplicateWindowSeconds"] == 600
        assert backend.put_policy(EVENT, {"cooldownSeconds": 5})["cooldownSeconds"] == 5
        assert backend.policy_templates()[0]["name"] == "standard"
        assert backend.get_policy_template("vip zones")["name"] == "vip zones"
        assert backend.list_events(venue_id="v1") == [{"id": "e1", "venueId": "v1"}]
        assert backend.get_event(EVENT)["id"] == EVENT
        page = backend.list_tickets(EVENT, after="00000000", limit=10)
        assert page["tickets"] == [{"id": "0badcafe"}] and page["limit"] == "10"
        manifest = backend.pull_manifest(EVENT, device_id="dev-1", since=7)
        assert manifest.startswith(b"\x00SCANCTL-MANIFEST\xff")
        results = backend.reconcile("dev-1", [{"id": "s1"}, {"id": "s2"}])
        assert [r["id"] for r in results["results"]] == ["s1", "s2"]
        assert backend.create_event({"id": EVENT, "name": "Gig"})["name"] == "Gig"
        assert backend.upsert_tickets(EVENT, [{"id": "0badcafe"}])["upserted"] == 1
        assert backend.list_scans(EVENT, since="2026-11-28T00:00:00Z") == [{"eventId": EVENT}]
        assert backend.health() == {"status": "ok"}
        assert backend.ready() is True
    manifest_request = fake.seen(f"GET /api/offline/manifest/{EVENT}")[0]
    assert manifest_request.query == {"deviceId": "dev-1", "since": "7"}
    assert fake.seen("DELETE /api/devices/dev-2")
    assert fake.seen("GET /api/scans")[0].query == {
        "eventId": EVENT,
        "since": "2026-11-28T00:00:00Z",
    }
    assert fake.seen("POST /api/offline/reconcile")[0].json()["deviceId"] == "dev-1"


def test_the_transport_and_headers_are_injectable() -> None:
    """httpx's own in-memory transport stands in for the network (e.g. for the CLI's tests)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok"})

    transport = httpx.MockTransport(handler)
    with ScanctlClient(
        "http://backend.invalid/", transport=transport, headers={"X-Device-Id": "d"}
    ) as c:
        assert c.health() == {"status": "ok"}
    assert str(seen[0].url) == "http://backend.invalid/health"
    assert seen[0].headers["x-device-id"] == "d"
    assert "Authorization" not in seen[0].headers


def test_ids_cannot_change_the_route(fake: FakeBackend, url: str) -> None:
    with client(url) as backend, pytest.raises(NotFound):
        backend.get_device("../policies/x")
    assert fake.seen()[0].raw_path == b"/api/devices/..%2Fpolicies%2Fx"


def test_ready_is_false_while_draining(fake: FakeBackend, url: str) -> None:
    fake.script("GET /ready", Answer(503, {"status": "draining"}))
    with client(url) as backend:
        assert backend.ready() is False
    assert fake.count("GET /ready") == 1


# -- error mapping ------------------------------------------------------------------


def test_401_403_404_map_to_their_errors(fake: FakeBackend, url: str) -> None:
    fake.script(
        "GET /api/devices/d",
        Answer(401, {"error": {"code": "TOKEN_EXPIRED", "message": "token expired"}}),
        Answer(403, {"detail": "venue outside your scope"}),
        Answer(404, {"code": "NOT_FOUND", "message": "device not found"}),
    )
    with client(url) as backend:
        with pytest.raises(NotAuthorized) as e401:
            backend.get_device("d")
        with pytest.raises(Forbidden) as e403:
            backend.get_device("d")
        with pytest.raises(NotFound) as e404:
            backend.get_device("d")
    assert (e401.value.status, e401.value.code, e401.value.message) == (
        401,
        "TOKEN_EXPIRED",
        "token expired",
    )
    assert (e403.value.status, e403.value.code) == (403, "Forbidden")
    assert e403.value.message == "venue outside your scope"
    assert e404.value.message == "device not found"
    assert fake.count() == 3, "4xx are answers, never retried"


def test_422_carries_field_details(fake: FakeBackend, url: str) -> None:
    detail = [
        {"loc": ["body", "tickets", 0, "id"], "msg": "must be 8 lowercase hex", "type": "x"},
        {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
    ]
    fake.script(f"POST /api/catalog/events/{EVENT}/tickets", Answer(422, {"detail": detail}))
    with client(url) as backend, pytest.raises(BadRequest) as err:
        backend.upsert_tickets(EVENT, [{"id": "XYZ"}])
    assert err.value.status == 422
    assert err.value.details == detail
    assert [(f.field, f.message) for f in err.value.field_errors] == [
        ("body.tickets.0.id", "must be 8 lowercase hex"),
        ("body.name", "Field required"),
    ]


def test_a_500_is_a_server_error_and_not_retried(fake: FakeBackend, url: str) -> None:
    fake.script("GET /health", Answer(500, b"Internal Server Error"))
    with client(url) as backend, pytest.raises(ServerError) as err:
        backend.health()
    assert not isinstance(err.value, Unreachable)
    assert err.value.message == "Internal Server Error"
    assert fake.count() == 1


def test_a_garbled_scan_answer_is_invalid_response(fake: FakeBackend, url: str) -> None:
    fake.script(SCAN, Answer(200, b"<html>proxy login</html>"), Answer(200, {"allowed": "yes"}))
    with client(url) as backend:
        with pytest.raises(InvalidResponse):
            backend.scan("code", EVENT, "dev-1")
        with pytest.raises(InvalidResponse):
            backend.scan("code", EVENT, "dev-1")


def test_nothing_listening_is_unreachable() -> None:
    port = free_port()
    with client(f"http://127.0.0.1:{port}", retry=NO_RETRY) as backend:
        with pytest.raises(ConnectFailed) as err:
            backend.health()
        with pytest.raises(Unreachable):
            backend.scan("code", EVENT, "dev-1")
    assert f"127.0.0.1:{port}" in str(err.value)


# -- retries ------------------------------------------------------------------------


def test_idempotent_calls_retry_503_then_succeed(fake: FakeBackend, url: str) -> None:
    fake.script("GET /api/devices/d", Answer(503), Answer(502))
    with client(url) as backend:
        assert backend.get_device("d")["id"] == "d"
    assert fake.count("GET /api/devices/d") == 3


def test_retries_are_bounded_then_unreachable(fake: FakeBackend, url: str) -> None:
    fake.script("PUT /api/policies/e", *[Answer(503)] * 10)
    with client(url) as backend, pytest.raises(ServiceUnavailable) as err:
        backend.put_policy("e", {})
    assert isinstance(err.value, Unreachable) and isinstance(err.value, ServerError)
    assert err.value.status == 503
    assert fake.count() == FAST_RETRY.attempts


def test_reconcile_and_catalog_posts_are_retried(fake: FakeBackend, url: str) -> None:
    fake.script("POST /api/offline/reconcile", Answer(504))
    fake.script("POST /api/catalog/events", Answer(503))
    with client(url) as backend:
        backend.reconcile("dev-1", [{"id": "s1"}])
        backend.create_event({"id": EVENT})
    assert fake.count("POST /api/offline/reconcile") == 2
    assert fake.count("POST /api/catalog/events") == 2


def test_scan_and_register_are_never_retried(fake: FakeBackend, url: str) -> None:
    fake.script(SCAN, Answer(503))
    fake.script("POST /api/devices/register", Answer(503))
    with client(url) as backend:
        with pytest.raises(ServiceUnavailable):
            backend.scan("code", EVENT, "dev-1")
        with pytest.raises(ServiceUnavailable):
            backend.register_device({"name": "x"})
    assert fake.count(SCAN) == 1
    assert fake.count("POST /api/devices/register") == 1


def test_429_retry_after_is_honoured(fake: FakeBackend, url: str) -> None:
    fake.script("GET /health", Answer(429, {"message": "slow down"}, {"Retry-After": "1"}))
    with client(url) as backend:
        started = time.monotonic()
        assert backend.health() == {"status": "ok"}
        elapsed = time.monotonic() - started
    assert fake.count() == 2
    assert 1.0 <= elapsed < 2.0, elapsed


def test_a_retry_after_over_the_cap_is_raised_not_waited(fake: FakeBackend, url: str) -> None:
    fake.script("GET /health", Answer(429, {"message": "slow down"}, {"Retry-After": "120"}))
    with client(url) as backend:
        started = time.monotonic()
        with pytest.raises(RateLimited) as err:
            backend.health()
        assert time.monotonic() - started < 0.5
    assert err.value.retry_after == 120.0
    assert err.value.message == "slow down"
    assert fake.count() == 1


def test_connect_errors_are_retried_up_to_the_bound() -> None:
    breaker = CircuitBreaker(failure_threshold=100)
    backend = client(f"http://127.0.0.1:{free_port()}", breaker=breaker)
    with backend, pytest.raises(ConnectFailed):
        backend.get_policy("e")
    assert breaker.failures == FAST_RETRY.attempts  # every try reached the (absent) network


def test_read_timeouts_are_retried_with_a_per_call_timeout(fake: FakeBackend, url: str) -> None:
    fake.script("GET /health", slow(0.5), slow(0.5))
    retry = RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.01, wait_jitter=0)
    with client(url, retry=retry) as backend:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            backend.health(timeout=0.1)
        assert time.monotonic() - started < 0.8  # two 0.1 s tries, not two 0.5 s answers
    assert fake.count() == 2


# -- the scan deadline --------------------------------------------------------------


def test_scan_deadline_is_enforced_against_a_slow_backend(fake: FakeBackend, url: str) -> None:
    fake.script(SCAN, slow(1.5))
    with client(url, timeout=30) as backend:
        backend.health()  # warm the connection: the deadline is about the scan alone
        started = time.monotonic()
        with pytest.raises(TimedOut) as err:
            backend.scan("code", EVENT, "dev-1")
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 0.5, elapsed
    assert fake.count(SCAN) == 1
    assert str(err.value) == f"the backend at {url} did not answer POST /api/scan within 0.3 s"


def test_scan_deadline_bounds_a_trickling_answer(fake: FakeBackend, url: str) -> None:
    """Each piece arrives well within a read timeout; only the total gives it away."""
    fake.script(SCAN, trickling(0.1))
    with client(url) as backend:
        backend.health()
        started = time.monotonic()
        with pytest.raises(TimedOut):
            backend.scan("code", EVENT, "dev-1")
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 0.5, elapsed


def test_the_phases_of_a_deadline_share_one_budget() -> None:
    now = [10.0]
    left = RemainingTime(10.3, lambda: now[0])
    assert left.get("connect") == pytest.approx(0.3)
    now[0] += 0.2
    assert left.get("read") == pytest.approx(0.1)
    assert left["write"] == pytest.approx(0.1)
    now[0] += 1
    assert left.get("pool") == 0.001
    assert left.get("other", "x") == "x"
    with pytest.raises(KeyError):
        left["other"]


def test_scan_deadline_can_be_set_per_call(fake: FakeBackend, url: str) -> None:
    fake.script(SCAN, slow(0.4))
    with client(url) as backend:
        assert backend.scan("code", EVENT, "dev-1", deadline=2.0).allowed


# -- the breaker --------------------------------------------------------------------


def test_breaker_opens_fails_fast_half_opens_and_closes(fake: FakeBackend, url: str) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, cool_off=5.0, clock=clock)
    fake.script(SCAN, *[Answer(500)] * 3)
    with client(url, breaker=breaker) as backend:
        for _ in range(3):
            with pytest.raises(ServerError):
                backend.scan("code", EVENT, "dev-1")
        assert breaker.state is BreakerState.OPEN
        assert breaker.snapshot().failures == 3

        with pytest.raises(CircuitOpen) as err:
            backend.scan("code", EVENT, "dev-1")
        with pytest.raises(CircuitOpen):
            backend.get_policy("e")  # idempotent, but an open breaker is not retried
        assert isinstance(err.value, Unreachable) and err.value.retry_in == 5.0
        assert fake.count() == 3, "an open breaker must not touch the network"

        clock.now += 5.0
        assert breaker.state is BreakerState.HALF_OPEN
        assert backend.scan("code", EVENT, "dev-1").allowed  # the probe
        assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
    assert fake.count() == 4


def test_a_failed_probe_reopens(fake: FakeBackend, url: str) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cool_off=5.0, clock=clock)
    fake.script(SCAN, slow(1.0), Answer(503))
    with client(url, breaker=breaker) as backend:
        with pytest.raises(TimedOut):
            backend.scan("code", EVENT, "dev-1")  # slow counts as failing
        assert breaker.state is BreakerState.OPEN
        clock.now += 5.0
        with pytest.raises(ServiceUnavailable):
            backend.scan("code", EVENT, "dev-1")
        assert breaker.state is BreakerState.OPEN and breaker.opened_at == 5.0
        with pytest.raises(CircuitOpen):
            backend.scan("code", EVENT, "dev-1")
    assert fake.count(SCAN) == 2


def test_answers_below_500_keep_the_breaker_closed(fake: FakeBackend, url: str) -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    fake.script(SCAN, Answer(422, {"detail": "bad"}))
    with client(url, breaker=breaker) as backend:
        with pytest.raises(BadRequest):
            backend.scan("code", EVENT, "dev-1")
        assert not backend.scan("already-used", EVENT, "dev-1").allowed
    assert breaker.state is BreakerState.CLOSED


def test_unreachable_opens_the_breaker() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cool_off=60)
    with client(f"http://127.0.0.1:{free_port()}", breaker=breaker, retry=NO_RETRY) as backend:
        for _ in range(2):
            with pytest.raises(ConnectFailed):
                backend.scan("code", EVENT, "dev-1")
        with pytest.raises(CircuitOpen):
            backend.scan("code", EVENT, "dev-1")
