"""Which failures a retry policy retries, and for how long it waits."""

from __future__ import annotations

import pytest

from scanctl.client import endpoints
from scanctl.client.errors import (
    BadRequest,
    CircuitOpen,
    ConnectFailed,
    InvalidResponse,
    NotAuthorized,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TimedOut,
)
from scanctl.client.retry import NO_RETRY, RetryPolicy

POLICY = RetryPolicy(total=30.0, retry_after_cap=10.0)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectFailed("refused"), True),
        (TimedOut("slow"), True),
        (ServiceUnavailable(503, "x", "x"), True),
        (ServiceUnavailable(503, "x", "x", retry_after=4), 4),
        (RateLimited(429, "x", "x"), True),
        (RateLimited(429, "x", "x", retry_after=2.5), 2.5),
        (RateLimited(429, "x", "x", retry_after=11), False),  # over the cap: raise, do not wait
        (CircuitOpen("open", retry_in=3), False),
        (ServerError(500, "x", "x"), False),
        (NotAuthorized(401, "x", "x"), False),
        (BadRequest(422, "x", "x"), False),
        (InvalidResponse("garbage"), False),
    ],
)
def test_decide(error: Exception, expected: bool | float) -> None:
    assert POLICY.decide(error, elapsed=0.0) == expected


def test_a_hint_longer_than_the_time_left_is_not_waited_for() -> None:
    assert POLICY.decide(RateLimited(429, "x", "x", retry_after=5), elapsed=20.0) == 5
    assert POLICY.decide(RateLimited(429, "x", "x", retry_after=5), elapsed=25.0) is False


def test_which_calls_are_retried() -> None:
    assert POLICY.applies_to(endpoints.get_device("d"))
    assert POLICY.applies_to(endpoints.reconcile("d", []))
    assert POLICY.applies_to(endpoints.upsert_tickets("e", []))
    assert POLICY.applies_to(endpoints.create_event({}))
    assert POLICY.applies_to(endpoints.revoke_device("d"))
    assert not POLICY.applies_to(endpoints.scan("c", "e", "d"))
    assert not POLICY.applies_to(endpoints.register_device({}))
    assert not POLICY.applies_to(endpoints.ready())
    assert not NO_RETRY.applies_to(endpoints.get_device("d"))


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(total=0)
