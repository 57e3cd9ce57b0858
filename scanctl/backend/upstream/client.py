"""One upstream service over HTTP: a deadline, one quick retry, a circuit breaker (purgatory).

    CLOSED --(failure_threshold consecutive failed calls)--> OPEN
    OPEN --(reset_seconds pass; the next call is the probe)--> HALF-OPEN
    HALF-OPEN --probe answers--> CLOSED;  --probe fails--> OPEN

purgatory counts and switches states; it would let every call through while half-open,
so this client lets exactly one probe go and treats the others as if still open (they
are answered from cache instead of each waiting on a service that may still be dead).

A call is one GET of a JSON document. Its whole budget, retries included, is
``timeout_seconds``: a dead service costs a scan at most that, and nothing at all once
the breaker is open. Only refused or reset connections and 5xx/429 answers are retried
(stamina), once and quickly; a timeout has used the budget up already.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Final, TypeVar

import httpx
import stamina
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from scanctl.backend.upstream.errors import (
    BreakerOpen,
    UpstreamCallFailed,
    UpstreamDown,
    UpstreamGarbage,
    UpstreamRejected,
    UpstreamTimeout,
)
from scanctl.backend.upstream.metrics import UpstreamMetrics

__all__ = ["MAX_BODY_BYTES", "ServiceClient"]

log = logging.getLogger("scanctl.backend.upstream")

MAX_BODY_BYTES: Final = 64 * 1024
"""An event or a ticket is a few hundred bytes; anything near this is not one."""

T = TypeVar("T")
_NOT_FOUND: Final = object()  # a 404; a JSON `null` body is garbage, not "no such thing"
_STATES = {"closed": "closed", "half-opened": "half-open", "opened": "open"}


class ServiceClient:
    """GETs JSON from one service: `get` returns it parsed, None for a 404, or raises
    `UpstreamCallFailed`."""

    def __init__(
        self,
        name: str,
        base_url: str,
        token: str,
        *,
        timeout_seconds: float,
        failure_threshold: int,
        reset_seconds: float,
        metrics: UpstreamMetrics,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._metrics = metrics
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,
        )
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=failure_threshold, default_ttl=reset_seconds
        )
        # One log line per change of state, not one per failed scan during an outage.
        self._breakers.add_listener(self._log_state_change)
        self._context: object | None = None
        self._probing = False  # one event loop: a plain flag is enough
        self._sent = metrics.latency.labels(name)
        metrics.watch_breaker(name, self.breaker_state)

    def _log_state_change(self, name: str, event_name: str, event: object) -> None:
        if event_name != "state_changed":
            return
        state = _STATES.get(str(getattr(event, "state", "")), "unknown")
        if state == "open":
            log.warning("%s service: circuit breaker open (answering from cache)", name)
        else:
            log.info("%s service: circuit breaker %s", name, state)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def breaker_state(self) -> str:
        """closed, half-open (the next call is a probe) or open."""
        context = self._context
        if context is None:
            return "closed"
        state: str = getattr(context, "state", "closed")
        opened_at = getattr(context, "opened_at", None)
        ttl: float = getattr(context, "ttl", 0.0)
        # purgatory moves to half-opened only when a call arrives after the TTL; until
        # then the next call is a probe all the same, so that is what we report.
        if state == "opened" and opened_at is not None and time.time() > opened_at + ttl:
            return "half-open"
        return _STATES.get(state, state)

    async def get(self, path: str, parse: Callable[[object], T]) -> T | None:
        """``parse`` of the JSON document at ``path``, None when the service answers 404.

        Parsing happens inside the breaker: a service answering garbage is failing.
        """
        probe = self.breaker_state() == "half-open"
        if probe and self._probing:
            self._count(BreakerOpen.outcome)
            raise BreakerOpen(f"{self.name}: circuit breaker half-open, probe under way")
        if probe:
            self._probing = True
        try:
            breaker = await self._breakers.get_breaker(self.name)
            self._context = breaker.context
            async with breaker:
                started = time.perf_counter()
                try:
                    document = await self._get_with_retry(path)
                    parsed = None if document is _NOT_FOUND else parse(document)
                finally:
                    self._sent.observe(time.perf_counter() - started)
        except OpenedState:
            self._count(BreakerOpen.outcome)
            raise BreakerOpen(f"{self.name}: circuit breaker open") from None
        except UpstreamCallFailed as exc:
            self._count(exc.outcome)
            raise
        finally:
            if probe:
                self._probing = False
        self._count("ok" if parsed is not None else "not_found")
        return parsed

    def _count(self, outcome: str) -> None:
        self._metrics.requests.labels(self.name, outcome).inc()

    async def _get_with_retry(self, path: str) -> object:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async for attempt in stamina.retry_context(
                    on=UpstreamDown,
                    attempts=2,
                    timeout=self.timeout_seconds,
                    wait_initial=0.02,
                    wait_max=0.05,
                    wait_jitter=0.01,
                ):
                    with attempt:
                        return await self._get_once(path)
        except TimeoutError:
            raise UpstreamTimeout(
                f"{self.name}: no answer within {self.timeout_seconds} s"
            ) from None
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _get_once(self, path: str) -> object:
        try:
            async with self._http.stream("GET", path) as response:
                status = response.status_code
                if status == 404:
                    return _NOT_FOUND
                if status >= 500 or status == 429:
                    raise UpstreamDown(f"{self.name}: {path} answered {status}")
                if status != 200:
                    raise UpstreamRejected(f"{self.name}: {path} answered {status}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise UpstreamGarbage(
                            f"{self.name}: {path} answered over {MAX_BODY_BYTES} bytes"
                        )
        except httpx.TimeoutException:
            raise UpstreamTimeout(
                f"{self.name}: no answer within {self.timeout_seconds} s"
            ) from None
        except httpx.TransportError as exc:  # refused, reset, protocol garbage
            raise UpstreamDown(f"{self.name}: {type(exc).__name__}: {exc}") from None
        try:
            document: object = json.loads(body)
        except ValueError:
            raise UpstreamGarbage(
                f"{self.name}: {path} answered something that is not JSON"
            ) from None
        return document
