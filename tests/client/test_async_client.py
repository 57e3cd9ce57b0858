"""AsyncScanctlClient against the same loopback server: same behaviour, awaited."""

from __future__ import annotations

import inspect
import time

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanctl.client import (
    AsyncScanctlClient,
    BearerToken,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    ConnectFailed,
    DeviceAuth,
    NotAuthorized,
    ScanctlClient,
    ServiceUnavailable,
    TimedOut,
)
from scanctl.core import Reason
from tests.client.conftest import FAST_RETRY
from tests.client.fake_backend import Answer, FakeBackend, free_port, slow, trickling

pytestmark = pytest.mark.anyio

SCAN = "POST /api/scan"


def client(url: str, **kw: object) -> AsyncScanctlClient:
    kw.setdefault("retry", FAST_RETRY)
    return AsyncScanctlClient(url, BearerToken("t"), **kw)  # type: ignore[arg-type]


async def test_scan_and_routes(fake: FakeBackend, url: str) -> None:
    async with client(url) as backend:
        result = await backend.scan("already-used", "e", "dev-1")
        assert result.known_reason is Reason.ALREADY_SCANNED and not result.allowed
        named = await backend.scan("code", "e", "dev-1", scan_id="0190-read", lane="north-1")
        assert named.wire_decision().scan_id == "0190-read"  # stored under the gate's id
        assert fake.seen(SCAN)[-1].json()["lane"] == "north-1"
        assert await backend.pull_manifest("e", since=3) == b"\x00SCANCTL-MANIFEST\xffe"
        assert (await backend.reconcile("dev-1", [{"id": "s"}]))["results"][0]["id"] == "s"
        assert await backend.ready()
    assert fake.seen("GET /api/offline/manifest/e")[0].query == {"since": "3"}


async def test_scan_deadline_is_exact(fake: FakeBackend, url: str) -> None:
    fake.script(SCAN, slow(1.5))
    async with client(url) as backend:
        await backend.health()
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await backend.scan("code", "e", "dev-1")
        elapsed = time.monotonic() - started
    assert 0.28 <= elapsed < 0.5, elapsed
    assert fake.count(SCAN) == 1


async def test_scan_deadline_bounds_a_trickling_answer(fake: FakeBackend, url: str) -> None:
    fake.script(SCAN, trickling(0.1))
    async with client(url) as backend:
        await backend.health()
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await backend.scan("code", "e", "dev-1")
        elapsed = time.monotonic() - started
    assert 0.28 <= elapsed < 0.5, elapsed


async def test_retries_then_bounded(fake: FakeBackend, url: str) -> None:
    fake.script("GET /api/policies/e", Answer(503), Answer(429, headers={"Retry-After": "0"}))
    fake.script("GET /api/devices", *[Answer(503)] * 10)
    fake.script(SCAN, Answer(503))
    async with client(url) as backend:
        assert (await backend.get_policy("e"))["eventId"] == "e"
        with pytest.raises(ServiceUnavailable):
            await backend.list_devices()
        with pytest.raises(ServiceUnavailable):
            await backend.scan("code", "e", "dev-1")
    assert fake.count("GET /api/policies/e") == 3
    assert fake.count("GET /api/devices") == FAST_RETRY.attempts
    assert fake.count(SCAN) == 1


async def test_breaker_cycle_with_an_injected_clock(fake: FakeBackend, url: str) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cool_off=3.0, clock=lambda: now[0])
    fake.script(SCAN, slow(1.0), Answer(502))
    async with client(url, breaker=breaker) as backend:
        with pytest.raises(TimedOut):
            await backend.scan("code", "e", "dev-1")
        with pytest.raises(ServiceUnavailable):
            await backend.scan("code", "e", "dev-1")
        assert breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpen):
            await backend.scan("code", "e", "dev-1")
        assert fake.count(SCAN) == 2
        now[0] += 3.0
        assert (await backend.scan("code", "e", "dev-1")).allowed
        assert breaker.state is BreakerState.CLOSED


async def test_only_one_probe_goes_out_while_half_open(fake: FakeBackend, url: str) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, cool_off=1.0, clock=lambda: now[0])
    breaker.record_failure()
    now[0] += 1.0
    fake.script(SCAN, slow(0.15))
    outcomes: list[str] = []

    async def one() -> None:
        try:
            await backend.scan("code", "e", "dev-1")
            outcomes.append("answered")
        except CircuitOpen:
            outcomes.append("failed fast")

    async with client(url, breaker=breaker) as backend, anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    assert sorted(outcomes) == ["answered"] + ["failed fast"] * 4
    assert fake.count(SCAN) == 1
    assert breaker.state is BreakerState.CLOSED


async def test_a_cancelled_probe_frees_the_slot(fake: FakeBackend, url: str) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, cool_off=1.0, clock=lambda: now[0])
    breaker.record_failure()
    now[0] += 1.0
    fake.script("GET /health", slow(1.0))
    async with client(url, breaker=breaker) as backend:
        with anyio.move_on_after(0.1):
            await backend.health()  # cancelled from outside: no verdict on the backend
        assert breaker.state is BreakerState.HALF_OPEN
        assert await backend.get_device("d")  # the slot is free for the next probe
    assert breaker.state is BreakerState.CLOSED


async def test_unreachable_and_unauthorized(fake: FakeBackend, url: str) -> None:
    async with client(f"http://127.0.0.1:{free_port()}", retry=None) as backend:
        with pytest.raises(ConnectFailed):
            await backend.scan("code", "e", "dev-1")
    fake.script(SCAN, Answer(401, {"detail": "device revoked"}))
    auth = DeviceAuth("dev-1", "t1", "v1", Ed25519PrivateKey.generate())
    async with AsyncScanctlClient(url, auth) as backend:
        with pytest.raises(NotAuthorized) as err:
            await backend.scan("code", "e", "dev-1")
    assert err.value.message == "device revoked"
    assert fake.seen(SCAN)[0].headers["authorization"].startswith("Bearer ey")


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("close", "aclose")
    }


def test_the_twins_offer_the_same_calls() -> None:
    sync, asynchronous = _public_methods(ScanctlClient), _public_methods(AsyncScanctlClient)
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert signature == asynchronous[name], name
        assert inspect.iscoroutinefunction(getattr(AsyncScanctlClient, name)), name
    assert inspect.signature(ScanctlClient.__init__).parameters.keys() == (
        inspect.signature(AsyncScanctlClient.__init__).parameters.keys()
    )
