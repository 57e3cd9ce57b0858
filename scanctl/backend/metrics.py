"""Prometheus metrics of one app: request counts and latencies by route template and status."""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpMetrics", "MetricsMiddleware", "route_of"]

_slow_log = logging.getLogger("scanctl.backend.slow")
_UNMATCHED = "<unmatched>"  # keeps label cardinality bounded for 404 probes


class HttpMetrics:
    """The collectors, in a registry of their own so that several apps can coexist.

    ``observe()`` is the one place a finished request is recorded: its count, its
    latency, and a log line when it took longer than ``slow_seconds``.
    """

    def __init__(self, slow_seconds: float = 1.0) -> None:
        self.slow_seconds = slow_seconds
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "scanctl_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "scanctl_http_request_duration_seconds",
            "Time from request to the end of the response, by method, route and status.",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "scanctl_http_requests_in_flight",
            "HTTP requests being handled right now (this scrape included).",
            registry=self.registry,
        )
        self.fast_scans = Counter(
            "scanctl_scan_fast_path",
            "POST /api/scan requests answered by the fast path, by caller kind (person or"
            " device); the others took the full application.",
            ["caller"],
            registry=self.registry,
        )

        self.uncompressed_bytes = Counter(
            "scanctl_http_compressed_responses_uncompressed_bytes",
            "Body bytes of the gzip-encoded responses before compression, by route.",
            ["route"],
            registry=self.registry,
        )
        self.compressed_bytes = Counter(
            "scanctl_http_compressed_responses_bytes",
            "Body bytes of the gzip-encoded responses as sent, by route (the ratio to the"
            " uncompressed count is what compression saves).",
            ["route"],
            registry=self.registry,
        )

    def compressed(self, route: str, uncompressed: int, sent: int) -> None:
        """Record one gzip-encoded response: its body before and after compression."""
        self.uncompressed_bytes.labels(route).inc(uncompressed)
        self.compressed_bytes.labels(route).inc(sent)

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        """Record one answered request."""
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(elapsed)
        self.log_if_slow(method, route, status, elapsed)

    def log_if_slow(self, method: str, route: str, status: int, elapsed: float) -> None:
        """The slow-request log line (for callers that count through pre-bound labels)."""
        if elapsed > self.slow_seconds:
            _slow_log.warning(
                "slow request: %s %s status=%d duration_ms=%.0f",
                method,
                route,
                status,
                elapsed * 1000,
            )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def route_of(scope: Scope) -> str:
    """The route template a request matched (bounded label values), or ``<unmatched>``."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


class MetricsMiddleware:
    """Outermost middleware: sees every answer, the 413s and 504s of inner ones too, and
    logs the slow ones (one wrapper of ``send`` for both, not two)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], route_of(scope), status, elapsed)
