"""In-memory rate limits: counted as `limits` counts them, without a thread per expiry."""

from __future__ import annotations

import threading
import time

from scanctl.backend.ratelimit import QuietMemoryStorage, RateLimits


def test_a_burst_of_scans_starts_no_thread_and_still_limits() -> None:
    limits = RateLimits("memory://", "10/hour")
    before = {thread.ident for thread in threading.enumerate()}
    started: set[int | None] = set()
    answers = []
    deadline = time.monotonic() + 0.2  # 20 timer periods of the library's own storage
    while time.monotonic() < deadline:
        answers.append(limits.hit_scan("tenant", "device", 1_000_000))
        started |= {thread.ident for thread in threading.enumerate()} - before
    assert started == set()
    assert set(answers) == {None}
    limited = [limits.hit_scan("tenant", "slow-device", 3) for _ in range(5)]
    assert limited[:3] == [None, None, None]
    assert all(wait is not None and wait > 0 for wait in limited[3:])


def test_expired_counts_are_swept_from_the_callers_thread() -> None:
    storage = QuietMemoryStorage()
    storage.incr("old", expiry=0.01)
    expired_at = time.time() + 0.02
    while time.time() < expired_at:  # let it expire without reading it
        pass
    storage.incr("kept", expiry=60)
    assert "old" in storage.storage  # no timer has swept it
    storage.next_sweep = 0
    storage.incr("kept", expiry=60)
    assert storage.sweeps == 1
    assert "old" not in storage.storage
    assert storage.get("kept") == 2
