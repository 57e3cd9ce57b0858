"""State shared by several backend instances through Redis (REDIS_URL), and how it degrades.

Redis carries what instances must agree on quickly — nonce claims, last admissions for
the duplicate window, rate-limit counts, cache invalidations — but never the decision's
authority: the writer decides admissions from the database. `SharedState` bundles the
link (client, deadline, up/down), the scan guard and the invalidation bus; without
REDIS_URL the service has none and works as a single instance.
"""

from __future__ import annotations

from collections.abc import Callable

from scanctl.backend.sharedstate.codec import Invalidation
from scanctl.backend.sharedstate.guard import Precheck, ScanGuard
from scanctl.backend.sharedstate.invalidation import InvalidationBus
from scanctl.backend.sharedstate.keys import KeySpace, redis_url_problem
from scanctl.backend.sharedstate.link import RedisLink

__all__ = [
    "Invalidation",
    "InvalidationBus",
    "KeySpace",
    "Precheck",
    "RedisLink",
    "ScanGuard",
    "SharedState",
    "redis_url_problem",
]


class SharedState:
    """The Redis link and what uses it; `start()`/`stop()` with the app's lifespan."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        timeout_seconds: float,
        apply: Callable[[Invalidation], None],
        flush: Callable[[], None],
        retry_seconds: float = 1.0,
    ) -> None:
        self.keys = KeySpace(prefix)
        self.link = RedisLink(url, timeout_seconds=timeout_seconds, retry_seconds=retry_seconds)
        self.guard = ScanGuard(self.link, self.keys)
        self.bus = InvalidationBus(self.link, self.keys, apply, flush)

    def start(self) -> None:
        """Connect (a Redis that is down now is retried in the background) and listen."""
        self.link.start()
        self.bus.start()

    def stop(self) -> None:
        """Stop listening and probing, close the connections."""
        self.bus.stop()
        self.link.stop()

    def details(self) -> dict[str, str]:
        """What `/ready` shows."""
        return {"redis": "ok" if self.link.up else "unavailable"}
