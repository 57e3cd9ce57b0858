"""Sliding windows: the same counts as counting every event by hand."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scanctl.daemon.windows import SlidingWindows

WINDOW_MS = 1_000

steps = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3_000), st.booleans()), max_size=60
)


@given(steps)
def test_counts_match_a_naive_count(script: list[tuple[str, int, bool]]) -> None:
    windows = SlidingWindows(WINDOW_MS)
    seen: dict[str, list[int]] = {"a": [], "b": []}
    now = 0
    for key, gap, is_event in script:
        now += gap
        expected = [t for t in seen[key] if t > now - WINDOW_MS]
        if is_event:
            seen[key].append(now)
            assert windows.add(key, now) == len(expected) + 1
        else:
            assert windows.count(key, now) == len(expected)
        held = [t for t in seen[key] if t > now - WINDOW_MS]
        assert windows.latest(key) == (held[-1] if held else None)


def test_an_event_leaves_the_window_exactly_window_ms_later() -> None:
    windows = SlidingWindows(WINDOW_MS)
    windows.add("gate", 5_000)
    assert windows.count("gate", 5_999) == 1
    assert windows.count("gate", 6_000) == 0
    assert windows.count("never", 6_000) == 0
