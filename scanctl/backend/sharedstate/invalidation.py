"""`InvalidationBus`: a catalog, policy or device write at one instance reaches the others' caches.

Every instance keeps its catalog cache in memory (`scanning.cache.CatalogCache`) and
bumps a generation when it writes. With Redis, the bump is also published on one
channel; every instance subscribes and bumps the same generation, so a write is seen
everywhere within a round trip instead of after the cache's TTL. The upstream services'
change webhook (`POST /api/upstream/changes`) reaches only one instance; it goes the
same way (kind ``upstream``), and every instance expires those entries of its upstream
cache (`upstream.UpstreamCatalog.invalidate`).

Pub/sub delivers only to listeners connected at that moment. An instance that lost
its subscription (Redis restarted, network cut) may have missed messages, so on every
(re)subscription it drops its whole cache before listening: a burst of database reads
once, never a stale answer. While Redis is down, the TTL (30 s on a shared database)
bounds staleness as on a deployment without Redis.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence

from scanctl.backend.sharedstate.codec import (
    MAX_TICKETS,
    Invalidation,
    Kind,
    decode_invalidation,
    encode_invalidation,
)
from scanctl.backend.sharedstate.keys import KeySpace
from scanctl.backend.sharedstate.link import RedisLink

__all__ = ["InvalidationBus"]

log = logging.getLogger("scanctl.backend.redis")

_IGNORED_LOG_SECONDS = 60.0


class InvalidationBus:
    """Publishes this instance's invalidations and applies everybody else's."""

    def __init__(
        self,
        link: RedisLink,
        keys: KeySpace,
        apply: Callable[[Invalidation], None],
        flush: Callable[[], None],
    ) -> None:
        self.link = link
        self.keys = keys
        self.origin = secrets.token_hex(8)
        self._apply = apply
        self._flush = flush
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.received = 0
        self.ignored = 0
        """Messages on the channel that were not ours to apply (garbage, other versions)."""
        self._quiet_until = 0.0
        self.subscribed = False

    def messages(
        self, kind: Kind, tenant_id: str, target: str = "", tickets: Sequence[str] | None = None
    ) -> list[str]:
        """The texts that tell the other instances (`SharedState.invalidated` sends them):
        one, or for a long list of upstream tickets one per `MAX_TICKETS` of them."""
        if tickets is None:
            return [encode_invalidation(Invalidation(self.origin, kind, tenant_id, target))]
        return [
            encode_invalidation(
                Invalidation(
                    self.origin, kind, tenant_id, target, tuple(tickets[i : i + MAX_TICKETS])
                )
            )
            for i in range(0, len(tickets), MAX_TICKETS)
        ]

    def start(self) -> None:
        """Listen in a daemon thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="redis-invalidation", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop listening."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        import redis

        while not self._stop.is_set():
            if not self.link.up:
                self._stop.wait(self.link.retry_seconds / 4)
                continue
            pubsub = self.link.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self.keys.channel)
                # Subscribed first, flushed second: nothing published after this point is
                # missed, and nothing before it survives in the cache.
                self._flush()
                self.subscribed = True
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.2)
                    if message is not None:
                        self._handle(message.get("data"))
            except (redis.RedisError, OSError) as exc:
                self.link.mark_down(exc)
            finally:
                self.subscribed = False
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    log.debug("closing a broken subscription failed", exc_info=True)

    def _handle(self, data: object) -> None:
        message = decode_invalidation(data if isinstance(data, bytes | str) else None)
        if message is None:
            self.ignored += 1
            # Logged, but not once per message: a flood of garbage must not flood the log.
            now = time.monotonic()
            if now >= self._quiet_until:
                self._quiet_until = now + _IGNORED_LOG_SECONDS
                log.warning(
                    "ignored a message on %s that is not an invalidation (%d so far): %.80r",
                    self.keys.channel,
                    self.ignored,
                    data,
                )
            return
        self.received += 1
        if message.origin != self.origin:
            try:
                self._apply(message)
            except Exception:  # the listener serves every later message: it must not die
                log.exception("applying %s failed", message)
