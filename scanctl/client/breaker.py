"""A circuit breaker: stop asking a failing backend, probe it again after a cool-off.

    CLOSED --(failure_threshold consecutive failures)--> OPEN
    OPEN --(cool_off seconds pass)--> HALF_OPEN (exactly one probe may go)
    HALF_OPEN --probe succeeds--> CLOSED
    HALF_OPEN --probe fails--> OPEN (the cool-off starts again)

Pure logic: no I/O, time from the injected ``clock`` (monotonic seconds), safe to
share between threads. The caller asks `acquire()` before a call and reports the
outcome with exactly one of `record_success()`, `record_failure()` or `release()`
(the call ended without saying anything about the backend, e.g. it was cancelled).
What counts as a failure is the caller's business; the client counts connect
errors, timeouts and 5xx, never a 4xx or a scan denial.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BreakerSnapshot", "BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Where the breaker stands; the values are shown in status output."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class BreakerSnapshot:
    """What the daemon's status and the TUI show about the link.

    ``opened_at`` is in the breaker's clock (monotonic seconds) and None while closed;
    ``retry_in`` is the time left before a probe may go (0 unless open).
    """

    state: BreakerState
    failures: int
    opened_at: float | None
    retry_in: float


class CircuitBreaker:
    """Counts consecutive failures and decides whether a call may go out.

    ``failure_threshold`` consecutive failures open it; after ``cool_off`` seconds one
    probe is let through. ``on_change(old, new)`` is called (outside the lock) when a
    reported outcome changes the state: to OPEN (the backend went away) and to CLOSED
    (it came back, e.g. time to refresh the manifest). OPEN → HALF_OPEN happens with
    the passing of time and is seen by reading `state`.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_off: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cool_off < 0:
            raise ValueError("cool_off must not be negative")
        self.failure_threshold = failure_threshold
        self.cool_off = cool_off
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_out = False

    # -- observation -------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The current state; OPEN turns HALF_OPEN by itself once the cool-off is over."""
        with self._lock:
            return self._current_state()

    @property
    def failures(self) -> int:
        """Consecutive failures counted since the last success."""
        with self._lock:
            return self._failures

    @property
    def opened_at(self) -> float | None:
        """When the breaker last opened (clock seconds), None while closed."""
        with self._lock:
            return self._opened_at

    def snapshot(self) -> BreakerSnapshot:
        """All of the above, read at one instant."""
        with self._lock:
            state = self._current_state()
            return BreakerSnapshot(state, self._failures, self._opened_at, self._retry_in(state))

    def retry_in(self) -> float:
        """Seconds until a probe may go (0 unless open)."""
        with self._lock:
            return self._retry_in(self._current_state())

    # -- the protocol --------------------------------------------------------------

    def acquire(self) -> bool:
        """May a call go out now? In HALF_OPEN only the first caller gets True (the probe)."""
        with self._lock:
            state = self._current_state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.OPEN or self._probe_out:
                return False
            self._probe_out = True
            return True

    def record_success(self) -> None:
        """The backend answered: close and forget the failures."""
        with self._lock:
            old = self._current_state()
            self._failures = 0
            self._opened_at = None
            self._probe_out = False
            new = self._state = BreakerState.CLOSED
        self._notify(old, new)

    def record_failure(self) -> None:
        """The backend failed: count it, open at the threshold, re-open after a failed probe."""
        with self._lock:
            old = self._current_state()
            self._failures += 1
            self._probe_out = False
            if old is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
            new = self._current_state()
        self._notify(old, new)

    def release(self) -> None:
        """The call ended without a verdict on the backend; free the probe slot if it held it."""
        with self._lock:
            self._probe_out = False

    def reset(self) -> None:
        """Back to CLOSED with no failures (an operator's "try again now")."""
        self.record_success()

    # -- internals ----------------------------------------------------------------

    def _current_state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._opened_at is not None
            and self._clock() - self._opened_at >= self.cool_off
        ):
            self._state = BreakerState.HALF_OPEN
            self._probe_out = False
        return self._state

    def _retry_in(self, state: BreakerState) -> float:
        if state is not BreakerState.OPEN or self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.cool_off - self._clock())

    def _notify(self, old: BreakerState, new: BreakerState) -> None:
        if old is not new and self._on_change is not None:
            self._on_change(old, new)

    def __repr__(self) -> str:
        snap = self.snapshot()
        return f"<CircuitBreaker {snap.state} failures={snap.failures}>"
