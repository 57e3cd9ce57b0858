"""Tests for scanctl.drivers.simulated: the mix, the minted codes, the timing."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from scanctl.core import RotatingCode, derive_event_key, parse_code, verify_mac
from scanctl.drivers import (
    ArrivalCurve,
    CodeKind,
    CodeMixer,
    DriverConfigError,
    ScanMix,
    ScannerDriver,
    SimulatedScanner,
    SimulatedTickets,
)

from ._support import Collector, run

KEY = derive_event_key("m" * 40, "tenant-1", "event-1")
OTHER_KEY = derive_event_key("m" * 40, "tenant-1", "event-2")
NOW_MS = 1_767_000_000_000


def _tickets(valid: int = 5000) -> SimulatedTickets:
    return SimulatedTickets(
        valid=[f"{i:08x}" for i in range(valid)],
        refunded=[f"{0xA0000000 + i:08x}" for i in range(50)],
        wrong_event=[f"{0xB0000000 + i:08x}" for i in range(50)],
        wrong_event_key=OTHER_KEY,
    )


def _code(token: str) -> RotatingCode:
    code = parse_code(token)
    assert isinstance(code, RotatingCode)
    return code


def test_every_kind_of_code_is_what_it_claims() -> None:
    tickets = _tickets()
    mixer = CodeMixer(KEY, tickets, rng=random.Random(7))
    admitted: set[str] = set()
    sent: list[str] = []
    for i in range(3000):
        kind, token = mixer.next(NOW_MS + i)
        code = _code(token)
        if kind is CodeKind.REPLAYED:
            assert token in sent
        elif kind is CodeKind.FORGED:
            assert code.ticket_id in tickets.valid
            assert not verify_mac(code, [KEY, OTHER_KEY])
        elif kind is CodeKind.WRONG_EVENT:
            assert code.ticket_id in tickets.wrong_event
            assert verify_mac(code, [OTHER_KEY]) and not verify_mac(code, [KEY])
        else:
            assert verify_mac(code, [KEY])
            assert code.timestamp_ms == NOW_MS + i
            assert token not in sent  # a fresh nonce each time
            if kind is CodeKind.VALID:
                assert code.ticket_id not in admitted
                admitted.add(code.ticket_id)
            elif kind is CodeKind.DUPLICATE:
                assert code.ticket_id in admitted
            else:
                assert code.ticket_id in tickets.refunded
        sent.append(token)


def test_the_mix_proportions_hold_roughly() -> None:
    mix = ScanMix(valid=50, duplicate=10, replayed=10, forged=10, refunded=10, wrong_event=10)
    mixer = CodeMixer(KEY, _tickets(), mix, rng=random.Random(1))
    kinds = Counter(mixer.next(NOW_MS)[0] for _ in range(4000))
    shares = {kind: kinds[kind] / 4000 for kind in CodeKind}
    assert shares[CodeKind.VALID] == pytest.approx(0.5, abs=0.04)
    for kind in CodeKind:
        if kind is not CodeKind.VALID:
            assert shares[kind] == pytest.approx(0.1, abs=0.03), kind


def test_same_seed_same_codes() -> None:
    def codes(seed: int) -> list[tuple[CodeKind, str]]:
        mixer = CodeMixer(KEY, _tickets(100), rng=random.Random(seed))
        return [mixer.next(NOW_MS) for _ in range(200)]

    assert codes(3) == codes(3)
    assert codes(3) != codes(4)


def test_when_valid_tickets_run_out_only_repeats_remain() -> None:
    mixer = CodeMixer(KEY, SimulatedTickets(valid=["00000001", "00000002"]))
    kinds = [mixer.next(NOW_MS)[0] for _ in range(50)]
    assert kinds.count(CodeKind.VALID) == 2
    assert kinds[0] is CodeKind.VALID  # nothing to duplicate or replay before
    assert set(kinds) <= {CodeKind.VALID, CodeKind.DUPLICATE, CodeKind.REPLAYED, CodeKind.FORGED}


def test_an_exit_lane_lets_out_only_people_inside_and_waits_while_nobody_is() -> None:
    inside: list[str] = []
    tickets = SimulatedTickets(valid=["00000001"], inside=lambda: inside)
    mixer = CodeMixer(KEY, tickets, rng=random.Random(3))
    assert mixer.next(NOW_MS) is None, "nobody inside: nobody leaves"
    inside[:] = ["0000000a", "0000000b"]
    drawn = [mixer.next(NOW_MS) for _ in range(400)]
    valid = [
        _code(token).ticket_id for kind, token in filter(None, drawn) if kind is CodeKind.VALID
    ]
    assert set(valid) == {"0000000a", "0000000b"}
    kinds = Counter(kind for kind, _ in filter(None, drawn))
    assert set(kinds) <= {CodeKind.VALID, CodeKind.FORGED} and kinds[CodeKind.VALID] > 350

    # The scanner skips the arrivals that find nobody inside, then lets the person out.
    asked = 0

    def someone_after_a_while() -> list[str]:
        nonlocal asked
        asked += 1
        return ["0000000c"] if asked > 5 else []

    scanner = SimulatedScanner(
        event_key=KEY,
        tickets=SimulatedTickets(["00000001"], inside=someone_after_a_while),
        mix=ScanMix(forged=0.0),
        as_fast_as_possible=True,
        max_scans=2,
    )

    async def body() -> list[str]:
        return [scan.payload.decode() async for scan in scanner]

    tokens = run(body())
    assert asked >= 6 and len(tokens) == 2


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CodeMixer(KEY, SimulatedTickets(valid=[])), "valid ticket"),
        (lambda: CodeMixer(KEY, SimulatedTickets(["00000001"], wrong_event=["1"])), "key"),
        (lambda: ScanMix(0, 0, 0, 0, 0, 0), "weights"),
        (lambda: ScanMix(valid=-1), "weights"),
        (lambda: ArrivalCurve(peak_per_s=0), "positive peak"),
        (lambda: SimulatedScanner(event_key=KEY, tickets=_tickets(1), time_scale=0), "scale"),
    ],
)
def test_bad_parameters(build: object, message: str) -> None:
    with pytest.raises(DriverConfigError, match=message):
        build()  # type: ignore[operator]


def test_default_arrival_curve_shape() -> None:
    curve = ArrivalCurve(peak_per_s=8.0)
    samples = {t: curve(t) for t in range(0, 4 * 3600, 30)}
    peak_t = max(samples, key=samples.__getitem__)
    assert samples[peak_t] == pytest.approx(8.0)
    # The main wave peaks before the show starts; the door opens on a rush.
    assert curve.show_start_s - 1800 <= peak_t < curve.show_start_s
    assert curve(0) > curve(1200) < curve(peak_t)
    assert curve(-1) == 0
    assert all(rate >= 0 for rate in samples.values())


class FakeTime:
    """A clock that only moves when the simulation sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay


def _scanner(fake: FakeTime, **kwargs: object) -> SimulatedScanner:
    return SimulatedScanner(
        event_key=KEY,
        tickets=_tickets(),
        name="sim-1",
        clock=fake.clock,
        sleep=fake.sleep,
        wall_clock_ms=lambda: NOW_MS,
        **kwargs,  # type: ignore[arg-type]
    )


async def _drain(driver: SimulatedScanner) -> list[object]:
    return [scan async for scan in driver]


def test_follows_the_rate_and_the_time_scale() -> None:
    fake = FakeTime()
    driver = _scanner(fake, rate=lambda t: 10.0, time_scale=5.0, max_scans=2000, seed=11)
    assert isinstance(driver, ScannerDriver)
    scans = run(_drain(driver))
    assert len(scans) == 2000
    # 2000 arrivals at 10/s: about 200 simulated seconds, a fifth of that in real time.
    assert driver.simulated_seconds == pytest.approx(200, rel=0.1)
    assert fake.now - 100.0 == pytest.approx(driver.simulated_seconds / 5, rel=1e-6)
    assert all(s.source == "sim-1" and s.symbology == "]Q1" for s in scans)  # type: ignore[attr-defined]
    assert sum(driver.kinds.values()) == driver.counters.frames_ok == 2000


def test_duration_ends_the_run_and_quiet_times_are_skipped() -> None:
    fake = FakeTime()
    rate = lambda t: 0.0 if 10 <= t < 500 else 2.0  # noqa: E731
    driver = _scanner(fake, rate=rate, duration_s=600.0)
    scans = run(_drain(driver))
    assert 150 < len(scans) < 300  # about 2/s for 110 s
    assert driver.simulated_seconds <= 600


def test_a_curve_that_ends_ends_the_run() -> None:
    fake = FakeTime()
    driver = _scanner(fake, rate=lambda t: 1.0 if t < 20 else 0.0)
    scans = run(_drain(driver))
    assert 5 < len(scans) < 40


def test_same_seed_same_run() -> None:
    def payloads(seed: int) -> list[bytes]:
        driver = _scanner(FakeTime(), seed=seed, max_scans=100, rate=lambda t: 3.0)
        return [s.payload for s in run(_drain(driver))]  # type: ignore[attr-defined]

    assert payloads(5) == payloads(5)
    assert payloads(5) != payloads(6)


def test_as_fast_as_possible() -> None:
    driver = SimulatedScanner(
        event_key=KEY, tickets=_tickets(), as_fast_as_possible=True, max_scans=5000
    )
    started = time.perf_counter()
    scans = run(_drain(driver))
    elapsed = time.perf_counter() - started
    assert len(scans) == 5000
    assert elapsed < 5.0  # the default curve would take hours at real speed


def test_close_ends_a_long_wait_at_once() -> None:
    async def scenario() -> None:
        driver = SimulatedScanner(event_key=KEY, tickets=_tickets(), rate=lambda t: 0.001)
        collector = Collector(driver)
        await asyncio.sleep(0)  # the driver is now waiting for an arrival ~1000 s away
        assert not await driver.feedback(True)
        await collector.stop()
        assert collector.items == []

    run(scenario(), timeout=5)
