"""When and how long to wait before trying an idempotent call again.

Only calls that are safe to repeat are retried (GET, PUT, DELETE and the POSTs the
backend makes idempotent: reconcile, catalog upserts); ``POST /api/scan`` never is.
Retried: connect errors, timeouts, 502/503/504 and 429. Waits grow exponentially
with jitter (stamina); a Retry-After hint is honoured when it fits under both the
cap and the time left, else the error is raised at once (waiting less than the
server asked would only be refused again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import stamina

from scanctl.client.endpoints import Call
from scanctl.client.errors import (
    CircuitOpen,
    ConnectFailed,
    RateLimited,
    ServiceUnavailable,
    TimedOut,
)

__all__ = ["NO_RETRY", "RetryPolicy", "Tries"]


class Tries(Protocol):
    """Stamina's try iterator: the sync client uses ``for``, the async one ``async for``."""

    def __iter__(self) -> Iterator[stamina.Attempt]: ...

    def __aiter__(self) -> AsyncIterator[stamina.Attempt]: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one call.

    ``attempts`` counts the first try; once ``total`` seconds have passed since the
    first try began, no further try is scheduled (so a call ends within about
    ``total`` + one wait + one try); waits start at ``wait_initial``, double up to
    ``wait_max`` and get up to ``wait_jitter`` random seconds added; a Retry-After
    above ``retry_after_cap`` (or beyond ``total``) is raised, not waited for.
    """

    attempts: int = 4
    total: float = 30.0
    wait_initial: float = 0.2
    wait_max: float = 5.0
    wait_jitter: float = 0.5
    retry_after_cap: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.total <= 0:
            raise ValueError("total must be positive")

    def decide(self, exc: Exception, elapsed: float) -> bool | float:
        """Retry after ``exc``? False, True (normal backoff), or the seconds to wait."""
        if isinstance(exc, CircuitOpen):
            return False  # the breaker already said "don't"; retrying would only spin
        if isinstance(exc, RateLimited | ServiceUnavailable):
            hint = exc.retry_after
            if hint is None:
                return True
            if hint > self.retry_after_cap or hint >= self.total - elapsed:
                return False
            return hint
        return isinstance(exc, ConnectFailed | TimedOut)

    def applies_to(self, call: Call[Any]) -> bool:
        """Whether a call gets retries at all: idempotent, no deadline, more than one try."""
        return call.idempotent and call.deadline is None and self.attempts > 1

    def tries(self, elapsed: Callable[[], float]) -> Tries:
        """Stamina's try iterator (``for``/``async for``), bounded by this policy.

        ``elapsed`` gives the seconds since the call started, on the client's clock.
        """
        return stamina.retry_context(
            on=lambda exc: self.decide(exc, elapsed()),
            attempts=self.attempts,
            timeout=self.total,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_jitter,
        )


NO_RETRY = RetryPolicy(attempts=1)
"""One try only."""
