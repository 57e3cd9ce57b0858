"""`InvalidationBus`: a catalog, policy or device write at one instance reaches the others' caches.

Every instance keeps its catalog cache in memory (`scanning.cache.CatalogCache`) and
bumps a generation when it writes. With Redis, the bump is also published on one
channel; every instance subscribes and bumps the same generation, so a write is seen
everywhere within a round trip instead of after the cache's TTL.

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
from collections.abc import Callable

from scanctl.backend.sharedstate.codec import (
    Invalidation,
    decode_invalidation,
    encode_invalidation,
)
from scanctl.backend.sharedstate.keys import KeySpace
from scanctl.backend.sharedstate.link import RedisLink

__all__ = ["InvalidationBus"]

log = logging.getLogger("scanctl.backend.redis")


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
        self.subscribed = False

    def message(self, kind: str, tenant_id: str, target: str = "") -> str:
        """The text that tells the other instances (`SharedState.invalidated` sends it)."""
        return encode_invalidation(Invalidation(self.origin, kind, tenant_id, target))  # type: ignore[arg-type]

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
            return
        self.received += 1
        if message.origin != self.origin:
            self._apply(message)
