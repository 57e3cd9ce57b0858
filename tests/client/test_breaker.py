"""The circuit breaker's state machine, driven by a hand-moved clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.client.breaker import BreakerSnapshot, BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(threshold: int = 3, cool_off: float = 10.0) -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    return CircuitBreaker(failure_threshold=threshold, cool_off=cool_off, clock=clock), clock


def test_closed_until_threshold_consecutive_failures() -> None:
    breaker, _ = make(threshold=3)
    for _ in range(2):
        assert breaker.acquire()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 2
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.acquire()


def test_a_success_resets_the_count() -> None:
    breaker, _ = make(threshold=3)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 2


def test_half_open_after_cool_off_lets_exactly_one_probe() -> None:
    breaker, clock = make(threshold=1, cool_off=10.0)
    breaker.record_failure()
    assert breaker.opened_at == 1000.0
    clock.now += 9.99
    assert breaker.state is BreakerState.OPEN
    assert not breaker.acquire()
    clock.now += 0.01
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire()
    assert not breaker.acquire(), "a second caller must not probe at the same time"


def test_probe_success_closes() -> None:
    breaker, clock = make(threshold=1)
    breaker.record_failure()
    clock.now += 10
    assert breaker.acquire()
    breaker.record_success()
    assert breaker.snapshot() == BreakerSnapshot(BreakerState.CLOSED, 0, None, 0.0)
    assert breaker.acquire()
    assert breaker.acquire()


def test_probe_failure_reopens_and_restarts_the_cool_off() -> None:
    breaker, clock = make(threshold=5, cool_off=10.0)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 10
    assert breaker.acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.opened_at == clock.now
    assert breaker.retry_in() == 10.0
    clock.now += 5
    assert breaker.snapshot().retry_in == 5.0
    assert not breaker.acquire()


def test_release_frees_the_probe_without_a_verdict() -> None:
    breaker, clock = make(threshold=1)
    breaker.record_failure()
    clock.now += 10
    assert breaker.acquire()
    breaker.release()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire()


def test_on_change_reports_going_down_and_coming_back() -> None:
    seen: list[tuple[BreakerState, BreakerState]] = []
    clock = FakeClock()
    breaker = CircuitBreaker(
        failure_threshold=2, cool_off=1.0, clock=clock, on_change=lambda a, b: seen.append((a, b))
    )
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 1
    assert breaker.acquire()
    breaker.record_failure()
    clock.now += 1
    assert breaker.acquire()
    breaker.record_success()
    assert seen == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.HALF_OPEN, BreakerState.OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_reset_closes() -> None:
    breaker, _ = make(threshold=1)
    breaker.record_failure()
    breaker.reset()
    assert breaker.state is BreakerState.CLOSED
    assert "closed" in repr(breaker)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(cool_off=-1)


OPS = st.lists(st.sampled_from(["acquire", "success", "failure", "release", "tick"]), max_size=60)


@given(OPS, st.integers(min_value=1, max_value=4))
def test_matches_a_reference_model(ops: list[str], threshold: int) -> None:
    """Against a deliberately naive model of the same rules."""
    breaker, clock = make(threshold=threshold, cool_off=3.0)
    state, failures, opened_at, probe_out = "closed", 0, None, False

    def model_state() -> str:
        nonlocal state, probe_out
        if state == "open" and opened_at is not None and clock.now - opened_at >= 3.0:
            state, probe_out = "half-open", False
        return state

    for op in ops:
        if op == "tick":
            clock.now += 1.0
        elif op == "acquire":
            s = model_state()
            expected = s == "closed" or (s == "half-open" and not probe_out)
            if s == "half-open" and expected:
                probe_out = True
            assert breaker.acquire() is expected
        elif op == "success":
            state, failures, opened_at, probe_out = "closed", 0, None, False
            breaker.record_success()
        elif op == "failure":
            s = model_state()
            failures += 1
            probe_out = False
            if s == "half-open" or failures >= threshold:
                state, opened_at = "open", clock.now
            breaker.record_failure()
        else:
            probe_out = False
            breaker.release()
        assert breaker.state == model_state()
        assert breaker.failures == failures
        assert breaker.opened_at == opened_at
