"""Scans per minute per gate: a rolling window of minute buckets for rates and sparklines."""

from __future__ import annotations

from collections import defaultdict

from scanctl.daemon.windows import SlidingWindows

__all__ = ["Throughput"]

MINUTE_MS = 60_000


class Throughput:
    """Counts decisions per gate in one-minute buckets, keeping the last ``minutes``."""

    def __init__(self, minutes: int = 15) -> None:
        self.minutes = minutes
        self._buckets: dict[str, dict[int, int]] = defaultdict(dict)
        self._last_minute = SlidingWindows(MINUTE_MS)

    def record(self, gate: str, at_ms: int) -> None:
        minute = at_ms // MINUTE_MS
        buckets = self._buckets[gate]
        buckets[minute] = buckets.get(minute, 0) + 1
        if len(buckets) > self.minutes + 1:
            for old in [m for m in buckets if m <= minute - self.minutes]:
                del buckets[old]
        self._last_minute.add(gate, at_ms)

    def per_minute(self, gate: str, now_ms: int) -> list[int]:
        """Counts for each of the last ``minutes`` minutes, oldest first, this one last."""
        current = now_ms // MINUTE_MS
        buckets = self._buckets.get(gate, {})
        return [buckets.get(minute, 0) for minute in range(current - self.minutes + 1, current + 1)]

    def last_minute(self, gate: str, now_ms: int) -> int:
        """Scans in the 60 seconds up to now: the rate a supervisor reads as 'per minute'."""
        return self._last_minute.count(gate, now_ms)
