"""`RedisLink`: one Redis client with short deadlines and an up/down state the service reports.

Redis is an accelerator here, never the authority (the database is). So an operation
that fails or runs past its deadline does not fail the request: the caller gets its
default (the answer that sends it to the database), the link is marked *down*, and
while it is down no request waits on Redis at all. A probe thread pings once per
``retry_seconds``; the first answer marks the link *up* again and runs the recovery
callbacks (caches that may have missed invalidations meanwhile flush themselves).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import redis

__all__ = ["RedisLink"]

log = logging.getLogger("scanctl.backend.redis")

T = TypeVar("T")


class RedisLink:
    """A Redis client plus whether it currently answers; thread-safe."""

    def __init__(self, url: str, *, timeout_seconds: float, retry_seconds: float = 1.0) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        self.timeout_seconds = timeout_seconds
        self.retry_seconds = retry_seconds
        # No client-side retries: a retry would multiply the deadline, and the breaker
        # below is the retry policy.
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )
        self._up = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_recovery: list[Callable[[], None]] = []
        self.failures = 0
        """Operations that failed (each one flipped or kept the link down)."""
        self.recoveries = 0
        """Times the link came back up after being down."""

    @property
    def up(self) -> bool:
        """Whether Redis answered the last time anyone asked."""
        return self._up

    def on_recovery(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` (in the probe thread) whenever the link comes back up."""
        self._on_recovery.append(callback)

    def start(self) -> None:
        """Ping once (so the first requests know where they stand), then keep probing."""
        self._probe()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="redis-probe", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop probing and close the connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.client.close()

    def run(self, operation: Callable[[redis.Redis], T], default: T) -> T:
        """``operation(client)``, or ``default`` when Redis is down or the operation fails."""
        if not self._up:
            return default
        import redis

        try:
            return operation(self.client)
        except (redis.RedisError, OSError) as exc:
            self.mark_down(exc)
            return default

    def mark_down(self, exc: BaseException) -> None:
        """Record a failure; the first one after a good spell is logged (once, not per call)."""
        with self._lock:
            self.failures += 1
            was_up, self._up = self._up, False
        if was_up:
            log.warning("Redis unavailable (%s); deciding from the database alone", exc)

    def _run(self) -> None:
        # Probing while up too: `/ready` and the metrics then tell the truth on an idle
        # instance, not only after the next request failed.
        while not self._stop.wait(self.retry_seconds):
            self._probe()

    def _probe(self) -> None:
        import redis

        try:
            self.client.ping()
        except (redis.RedisError, OSError) as exc:
            self.mark_down(exc)
            return
        with self._lock:
            came_back, self._up = not self._up, True
        if came_back:
            if self.failures:
                self.recoveries += 1
                log.warning("Redis available again; shared state in use")
            for callback in self._on_recovery:
                try:
                    callback()
                except Exception:  # one subscriber's failure must not stop the others
                    log.exception("a Redis recovery callback failed")
