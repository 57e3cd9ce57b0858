"""Event times per key over a sliding window: the limits, bursts and rates the daemon watches."""

from __future__ import annotations

from collections import deque

__all__ = ["SlidingWindows"]


class SlidingWindows:
    """For each key (a scanner, a gate), the times of its events in the last ``window_ms``.

    Times must be added in order per key (they come from one clock); old ones are
    dropped as later ones arrive or are asked about, so memory stays bounded by the
    busiest key's events per window.
    """

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._events: dict[str, deque[int]] = {}

    def add(self, key: str, at_ms: int) -> int:
        """Record an event; returns how many the window holds now, this one included."""
        events = self._events.setdefault(key, deque())
        events.append(at_ms)
        self._drop_before(events, at_ms)
        return len(events)

    def count(self, key: str, now_ms: int) -> int:
        """How many events of ``key`` fall within the window ending at ``now_ms``."""
        events = self._events.get(key)
        if events is None:
            return 0
        self._drop_before(events, now_ms)
        return len(events)

    def latest(self, key: str) -> int | None:
        """The time of the newest event of ``key`` still held, if any."""
        events = self._events.get(key)
        return events[-1] if events else None

    def _drop_before(self, events: deque[int], now_ms: int) -> None:
        horizon = now_ms - self.window_ms
        while events and events[0] <= horizon:
            events.popleft()
