"""Rate limits (the `limits` library): in memory for one instance, Redis when scaled out.

With a Redis storage, a Redis that fails or answers late does not fail the request:
the limits fall back to counting in this process's memory (each instance then limits
on its own — per-instance limits, not none) and Redis is tried again after
``retry_seconds``. Counts made in memory meanwhile are not carried over: the shared
count resumes from what Redis still holds.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)

__all__ = ["QR_PER_MINUTE", "QuietMemoryStorage", "RateLimits"]

log = logging.getLogger("scanctl.backend.ratelimit")

QR_PER_MINUTE = 30
"""Rotating codes one user may fetch for one ticket per minute."""

T = TypeVar("T")


class QuietMemoryStorage(MemoryStorage):
    """`limits`' in-memory storage without its expiry timer thread.

    The library starts a new 10 ms `threading.Timer` on a hit whenever none is running,
    so about every 10 ms under load, and `Thread.start()` blocks its caller — the event
    loop, for scans — until the new thread has run. Counters expire on read anyway
    (`MemoryStorage.get`); the timer only frees memory. Here that sweep runs in the
    caller's thread at most once per ``SWEEP_EVERY_S``.
    """

    SWEEP_EVERY_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()  # the one the base class starts at once
        self.next_sweep = time.monotonic() + self.SWEEP_EVERY_S
        self.sweeps = 0

    # The base class calls its private ``__schedule_expiry``; this name overrides it.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self.next_sweep:
            return
        self.next_sweep = now + self.SWEEP_EVERY_S
        self.sweeps += 1
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class _Limiters:
    """Both strategies on one storage."""

    def __init__(self, storage: Storage) -> None:
        self.moving = MovingWindowRateLimiter(storage)
        self.counter = SlidingWindowCounterRateLimiter(storage)


class RateLimits:
    """The backend's limits. The storage URL picks where counts live (`memory://`, `redis://…`).

    Hot-path limits (scans per device, QR codes per user and ticket) use the sliding
    window *counter*: two counters per key instead of one timestamp per hit, so a
    scanner allowed thousands of reads a minute costs the same as one allowed ten.
    """

    def __init__(
        self,
        storage_url: str,
        device_registration: str,
        *,
        key_prefix: str | None = None,
        timeout_seconds: float = 0.25,
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = storage_url.split("://", 1)[0].startswith("redis")
        options: dict[str, Any] = {}
        if self.shared:
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # Short deadlines and no client retries: the fallback below is the policy.
            options.update(
                wrap_exceptions=True,
                socket_timeout=timeout_seconds,
                socket_connect_timeout=timeout_seconds,
                retry=Retry(NoBackoff(), 0),
            )
            if key_prefix is not None:
                options["key_prefix"] = key_prefix
        storage = (
            QuietMemoryStorage()
            if storage_url.split("://", 1)[0] == "memory"
            else storage_from_string(storage_url, **options)
        )
        assert isinstance(storage, Storage)  # a synchronous URL: the settings check the scheme
        self._primary = _Limiters(storage)
        self._fallback = _Limiters(QuietMemoryStorage()) if self.shared else self._primary
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.fallbacks = 0
        """Storage failures that sent the limits to memory."""
        self._device_registration: RateLimitItem = parse(device_registration)
        self._qr: RateLimitItem = RateLimitItemPerMinute(QR_PER_MINUTE)

    @property
    def storage(self) -> str:
        """Where counts go right now: ``memory``, ``redis``, or ``memory (redis down)``."""
        if not self.shared:
            return "memory"
        return "memory (redis down)" if self._clock() < self._down_until else "redis"

    def hit_device_registration(self, tenant_id: str, venue_id: str) -> int | None:
        """Count a registration attempt; None when allowed, else seconds until one is."""
        keys = ("device-registration", tenant_id, venue_id)
        item = self._device_registration

        def hit(limiters: _Limiters) -> int | None:
            if limiters.moving.hit(item, *keys):
                return None
            return _wait(limiters.moving, item, keys)

        return self._use(hit)

    def hit_scan(self, tenant_id: str, unit: str, per_minute: int) -> int | None:
        """Count a read of a lane (`core.rate_limit_unit`); None when allowed, else seconds
        until one is."""
        return self._hit_counter(_per_minute(per_minute), "scan", tenant_id, unit)

    def hit_qr(self, tenant_id: str, subject: str, ticket_id: str) -> int | None:
        """Count a QR code fetched by a user for a ticket; None or seconds to wait."""
        return self._hit_counter(self._qr, "qr", tenant_id, subject, ticket_id)

    def hit_caller(self, group: str, tenant_id: str, caller: str, per_minute: int) -> int | None:
        """Count an API request of a caller in a limit group (`api.limits`); None when
        allowed, else seconds until one is."""
        return self._hit_counter(_per_minute(per_minute), "api", group, tenant_id, caller)

    def _hit_counter(self, item: RateLimitItem, *keys: str) -> int | None:
        def hit(limiters: _Limiters) -> int | None:
            if limiters.counter.hit(item, *keys):
                return None
            return _wait(limiters.counter, item, keys)

        return self._use(hit)

    def _use(self, hit: Callable[[_Limiters], T]) -> T:
        if self._primary is self._fallback or self._clock() < self._down_until:
            return hit(self._fallback)
        try:
            return hit(self._primary)
        except StorageError as exc:
            with self._lock:
                self.fallbacks += 1
                self._down_until = self._clock() + self._retry_seconds
            log.warning("rate limits: Redis failed (%s); counting in memory for now", exc)
            return hit(self._fallback)


def _wait(limiter: RateLimiter, item: RateLimitItem, keys: tuple[str, ...]) -> int:
    stats = limiter.get_window_stats(item, *keys)
    return max(1, math.ceil(stats.reset_time - time.time()))


@functools.lru_cache(maxsize=256)
def _per_minute(amount: int) -> RateLimitItem:
    return RateLimitItemPerMinute(amount)
