"""State shared by several backend instances through Redis (REDIS_URL), and how it degrades.

Redis carries what instances must agree on quickly — nonce claims, last admissions for
the duplicate window, rate-limit counts, cache invalidations — but never the decision's
authority: the writer decides admissions from the database. `SharedState` bundles the
link (client, deadline, up/down), the scan guard and the invalidation bus; without
REDIS_URL the service has none and works as a single instance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from scanctl.backend.sharedstate.codec import Invalidation, Kind
from scanctl.backend.sharedstate.guard import Precheck, ScanGuard
from scanctl.backend.sharedstate.invalidation import InvalidationBus
from scanctl.backend.sharedstate.keys import KeySpace, redis_url_problem
from scanctl.backend.sharedstate.level2 import SharedLevel
from scanctl.backend.sharedstate.link import RedisLink

__all__ = [
    "Invalidation",
    "InvalidationBus",
    "KeySpace",
    "Precheck",
    "RedisLink",
    "ScanGuard",
    "SharedLevel",
    "SharedState",
    "redis_url_problem",
]


# Far longer than any cached value lives (values expire with the cache's TTL), so a
# generation never restarts from zero while values of its old numbers exist.
_GENERATION_LIFETIME_MS = 7 * 24 * 3600 * 1000
_MAX_PENDING = 10_000


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
        counts_scans: bool = True,
    ) -> None:
        self.counts_scans = counts_scans
        """Whether scans are rate-limited in this Redis (by the pre-check, one round trip)."""
        self.keys = KeySpace(prefix)
        self.link = RedisLink(url, timeout_seconds=timeout_seconds, retry_seconds=retry_seconds)
        self.guard = ScanGuard(self.link, self.keys)
        self.bus = InvalidationBus(self.link, self.keys, apply, flush)
        # Invalidations Redis did not take (it was down): sent again when it is back, so
        # the second level and the other instances drop what this instance changed.
        self._pending: set[tuple[Kind, str, str]] = set()
        self._pending_lock = threading.Lock()
        self.link.on_recovery(self._resend)

    def invalidated(
        self, kind: Kind, tenant_id: str, target: str, tickets: Sequence[str] | None = None
    ) -> None:
        """Data of the tenant changed (``kind`` event or device; or ``upstream``: the
        services changed these ``tickets`` of the event ``target``, all with None): tell
        Redis and everybody."""
        messages = self.bus.messages(kind, tenant_id, target, tickets)

        def send(client: Any) -> bool:
            pipe = client.pipeline(transaction=False)
            if kind == "event":
                generation = self.keys.catalog_generation(tenant_id, target)
                pipe.incr(generation)
                pipe.pexpire(generation, _GENERATION_LIFETIME_MS)
            for message in messages:
                pipe.publish(self.keys.channel, message)
            pipe.execute()
            return True

        if messages and not self.link.run(send, False):
            # Kept without the ticket list (bounded memory): sent again later, it makes
            # the others ask again for the whole event, a superset of what changed.
            with self._pending_lock:
                if len(self._pending) < _MAX_PENDING:
                    self._pending.add((kind, tenant_id, target))

    def _resend(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, set()
        for kind, tenant_id, target in pending:
            self.invalidated(kind, tenant_id, target)

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
