"""The gate's in-memory state: histories in time order, nonces with expiry, rate limits."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from scanctl.core import Direction, PastScan
from scanctl.daemon.state import GateState, SlidingWindowLimiter


def test_unknown_tickets_have_no_history() -> None:
    assert GateState().history("0a1b2c3d") == ()


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=30))
def test_passes_stay_in_time_order_whatever_order_they_arrive_in(times: list[int]) -> None:
    state = GateState()
    for at in times:
        state.add_pass("t", PastScan(at, "g", Direction.ENTRY))
    assert [p.at_ms for p in state.history("t")] == sorted(times)
    assert state.tickets_seen == (1 if times else 0)


def test_a_nonce_is_seen_until_it_expires() -> None:
    state = GateState()
    state.remember_nonce("n", expires_at_ms=100)
    assert state.nonce_seen("n", 99)
    assert not state.nonce_seen("n", 100)
    assert not state.nonce_seen("other", 0)
    assert state.forget_expired_nonces(99) == 0
    assert state.forget_expired_nonces(100) == 1
    assert not state.nonce_seen("n", 0)


def test_the_limiter_allows_the_limit_per_window_per_key() -> None:
    limiter = SlidingWindowLimiter(limit=3, window_ms=1000)
    assert [limiter.allow("a", t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", 3)
    assert not limiter.allow("a", 999)
    assert limiter.allow("a", 1000)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(min_value=0, max_value=1000),
            st.sampled_from(list(Direction)),
            st.sampled_from(["north", "south"]),
        ),
        max_size=40,
    )
)
def test_presence_kept_pass_by_pass_equals_a_recount(
    passes: list[tuple[str, int, Direction, str]],
) -> None:
    state = GateState()
    for ticket, at, direction, gate in passes:
        state.add_pass(ticket, PastScan(at, gate, direction))
    recount = GateState({t: list(state.history(t)) for t in "abc" if state.history(t)})
    histories = {t: state.history(t) for t in "abc"}
    expected_inside = Counter(
        h[-1].gate for h in histories.values() if h and h[-1].direction is Direction.ENTRY
    )
    assert +state.inside_by_gate == expected_inside == +recount.inside_by_gate
    expected_entered = {
        t for t, h in histories.items() if any(p.direction is Direction.ENTRY for p in h)
    }
    assert state.entered == expected_entered == recount.entered
