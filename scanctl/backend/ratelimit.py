"""Rate limits (the `limits` library): in memory for one instance, Redis when scaled out."""

from __future__ import annotations

import functools
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

__all__ = ["QR_PER_MINUTE", "RateLimits"]

QR_PER_MINUTE = 30
"""Rotating codes one user may fetch for one ticket per minute."""


class RateLimits:
    """The backend's limits. The storage URL picks where counts live (`memory://`, `redis://…`).

    Hot-path limits (scans per device, QR codes per user and ticket) use the sliding
    window *counter*: two counters per key instead of one timestamp per hit, so a
    scanner allowed thousands of reads a minute costs the same as one allowed ten.
    """

    def __init__(self, storage_url: str, device_registration: str) -> None:
        storage = storage_from_string(storage_url)
        self._limiter = MovingWindowRateLimiter(storage)
        self._counter = SlidingWindowCounterRateLimiter(storage)
        self._device_registration: RateLimitItem = parse(device_registration)
        self._qr: RateLimitItem = RateLimitItemPerMinute(QR_PER_MINUTE)

    def hit_device_registration(self, tenant_id: str, venue_id: str) -> int | None:
        """Count a registration attempt; None when allowed, else seconds until one is."""
        keys = ("device-registration", tenant_id, venue_id)
        if self._limiter.hit(self._device_registration, *keys):
            return None
        stats = self._limiter.get_window_stats(self._device_registration, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def hit_scan(self, tenant_id: str, device_id: str, per_minute: int) -> int | None:
        """Count a scan from a device; None when allowed, else seconds until one is."""
        return self._hit_counter(_per_minute(per_minute), "scan", tenant_id, device_id)

    def hit_qr(self, tenant_id: str, subject: str, ticket_id: str) -> int | None:
        """Count a QR code fetched by a user for a ticket; None or seconds to wait."""
        return self._hit_counter(self._qr, "qr", tenant_id, subject, ticket_id)

    def _hit_counter(self, item: RateLimitItem, *keys: str) -> int | None:
        if self._counter.hit(item, *keys):
            return None
        stats = self._counter.get_window_stats(item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))


@functools.lru_cache(maxsize=256)
def _per_minute(amount: int) -> RateLimitItem:
    return RateLimitItemPerMinute(amount)
