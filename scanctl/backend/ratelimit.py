"""Rate limits (the `limits` library): in memory for one instance, Redis when scaled out."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

__all__ = ["RateLimits"]


class RateLimits:
    """The backend's limits. The storage URL picks where counts live (`memory://`, `redis://…`)."""

    def __init__(self, storage_url: str, device_registration: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self._device_registration: RateLimitItem = parse(device_registration)

    def hit_device_registration(self, tenant_id: str, venue_id: str) -> int | None:
        """Count a registration attempt; None when allowed, else seconds until one is."""
        keys = ("device-registration", tenant_id, venue_id)
        if self._limiter.hit(self._device_registration, *keys):
            return None
        stats = self._limiter.get_window_stats(self._device_registration, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))
