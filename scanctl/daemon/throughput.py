"""Scans per minute per gate: a rolling window of minute buckets for rates and sparklines."""

from __future__ import annotations

from collections import defaultdict, deque

__all__ = ["Throughput"]

MINUTE_MS = 60_000


class Throughput:
    """Counts decisions per gate in one-minute buckets, keeping the last ``minutes``."""

    def __init__(self, minutes: int = 15) -> None:
        self.minutes = minutes
        self._buckets: dict[str, dict[int, int]] = defaultdict(dict)
        self._recent: dict[str, deque[int]] = defaultdict(deque)

    def record(self, gate: str, at_ms: int) -> None:
        minute = at_ms // MINUTE_MS
        buckets = self._buckets[gate]
        buckets[minute] = buckets.get(minute, 0) + 1
        if len(buckets) > self.minutes + 1:
            for old in [m for m in buckets if m <= minute - self.minutes]:
                del buckets[old]
        recent = self._recent[gate]
        recent.append(at_ms)
        self._prune(recent, at_ms)

    @staticmethod
    def _prune(recent: deque[int], now_ms: int) -> None:
        while recent and recent[0] <= now_ms - MINUTE_MS:
            recent.popleft()

    def per_minute(self, gate: str, now_ms: int) -> list[int]:
        """Counts for each of the last ``minutes`` minutes, oldest first, this one last."""
        current = now_ms // MINUTE_MS
        buckets = self._buckets.get(gate, {})
        return [buckets.get(minute, 0) for minute in range(current - self.minutes + 1, current + 1)]

    def last_minute(self, gate: str, now_ms: int) -> int:
        """Scans in the 60 seconds up to now: the rate a supervisor reads as 'per minute'."""
        recent = self._recent.get(gate)
        if recent is None:
            return 0
        self._prune(recent, now_ms)
        return len(recent)
