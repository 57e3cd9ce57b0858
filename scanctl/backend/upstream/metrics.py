"""Prometheus collectors of the upstream services: calls, latency, cache use, breaker state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["BREAKER_STATES", "UpstreamMetrics"]

BREAKER_STATES = ("closed", "half-open", "open")
"""The states a breaker reports; also the order of the numeric gauge (0, 1, 2)."""


class UpstreamMetrics:
    """The upstream collectors, registered in the app's registry (so `/metrics` shows them)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "scanctl_upstream_requests",
            "Calls to the upstream services by service and outcome (ok, not_found, timeout, "
            "down, rejected, garbage, breaker_open: not sent).",
            ["service", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "scanctl_upstream_request_duration_seconds",
            "Time of upstream calls that were sent, retries included, by service.",
            ["service"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )
        self.cache = Counter(
            "scanctl_upstream_cache_lookups",
            "Lookups of upstream data by kind (event, ticket) and result: hit (fresh), "
            "miss (fetched), fallback (the service failed: the last good value was used), "
            "unavailable (the service failed and nothing was fetched before: 503).",
            ["kind", "result"],
            registry=registry,
        )
        self._breakers = _BreakerCollector()
        registry.register(self._breakers)

    def watch_breaker(self, service: str, state: Callable[[], str]) -> None:
        """Report ``state()`` (one of `BREAKER_STATES`) for the service at every scrape."""
        self._breakers.sources[service] = state


class _BreakerCollector(Collector):
    """Breaker states, read when scraped (an open breaker turns half-open with time alone)."""

    def __init__(self) -> None:
        self.sources: dict[str, Callable[[], str]] = {}

    def collect(self) -> Iterator[Metric]:
        numeric = GaugeMetricFamily(
            "scanctl_upstream_breaker_state",
            "Circuit breaker of each upstream service: 0 closed, 1 half-open, 2 open.",
            labels=["service"],
        )
        flags = GaugeMetricFamily(
            "scanctl_upstream_breaker",
            "1 for the state each upstream service's circuit breaker is in, 0 for the others.",
            labels=["service", "state"],
        )
        for service, state in sorted(self.sources.items()):
            current = state()
            numeric.add_metric([service], BREAKER_STATES.index(current))
            for name in BREAKER_STATES:
                flags.add_metric([service, name], 1.0 if name == current else 0.0)
        yield numeric
        yield flags

    def describe(self) -> Iterable[Metric]:
        return []
