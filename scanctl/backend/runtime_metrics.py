"""Metrics read at scrape time: cache hits and misses, database queries and connection
pool, Redis state.

The hot path only bumps plain integers (cache hits, queries); this collector turns
them into Prometheus families when `/metrics` is scraped, so counting costs a scan
nothing measurable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

if TYPE_CHECKING:
    from scanctl.backend.ratelimit import RateLimits
    from scanctl.backend.scanning import ScanService
    from scanctl.backend.sharedstate import SharedState

__all__ = ["QueryCounter", "RuntimeCollector"]

_KINDS = ("select", "insert", "update", "delete")


class QueryCounter:
    """Counts the statements an engine sends, by their first keyword."""

    def __init__(self, engine: Engine) -> None:
        self.counts: dict[str, int] = dict.fromkeys((*_KINDS, "other"), 0)
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        kind = statement.lstrip()[:6].lower()
        self.counts[kind if kind in _KINDS else "other"] += 1


class RuntimeCollector(Collector):
    """The families; each read of the service's counters happens at scrape time."""

    def __init__(
        self,
        scans: ScanService,
        queries: QueryCounter,
        rate_limits: RateLimits,
        shared: SharedState | None,
    ) -> None:
        self.scans = scans
        self.queries = queries
        self.rate_limits = rate_limits
        self.shared = shared

    def collect(self) -> Iterator[Metric]:
        hits = CounterMetricFamily(
            "scanctl_cache_hits",
            "Catalog cache lookups answered, by cache and level (memory, then redis).",
            labels=["cache", "level"],
        )
        misses = CounterMetricFamily(
            "scanctl_cache_misses",
            "Catalog cache lookups not answered at a level (a redis miss reads the database).",
            labels=["cache", "level"],
        )
        # No ratio gauge: a ratio since start hides the last minutes; dashboards divide
        # the counters' rates (hits / (hits + misses) at the memory level).
        for name, cache in self.scans.cache.caches().items():
            hits.add_metric([name, "memory"], cache.hits)
            misses.add_metric([name, "memory"], cache.misses)
            second = cache.second
            if second is not None:
                hits.add_metric([name, "redis"], getattr(second, "hits", 0))
                misses.add_metric([name, "redis"], getattr(second, "misses", 0))
        yield hits
        yield misses
        queries = CounterMetricFamily(
            "scanctl_db_queries", "Statements sent to the database, by kind.", labels=["kind"]
        )
        for kind, count in self.queries.counts.items():
            queries.add_metric([kind], count)
        yield queries
        yield from self._pool()
        storage = GaugeMetricFamily(
            "scanctl_rate_limit_storage",
            "Where rate-limit counts go now (1 for the storage in use).",
            labels=["storage"],
        )
        storage.add_metric([self.rate_limits.storage], 1)
        yield storage
        yield CounterMetricFamily(
            "scanctl_rate_limit_fallbacks",
            "Rate-limit storage failures that sent counting to memory.",
            value=self.rate_limits.fallbacks,
        )
        yield from self._redis()

    def _pool(self) -> Iterator[Metric]:
        """The database connection pool: its size, and its connections by state."""
        pool = self.scans.db.engine.pool
        figures = {}
        for name in ("size", "checkedout", "checkedin", "overflow"):
            read = getattr(pool, name, None)  # a queue pool has them all; others fewer
            if callable(read):
                figures[name] = read()
        if "size" in figures:
            yield GaugeMetricFamily(
                "scanctl_db_pool_size",
                "Connections the database pool keeps open (beyond them: overflow).",
                value=figures["size"],
            )
        connections = GaugeMetricFamily(
            "scanctl_db_pool_connections",
            "Database connections of the pool by state: in_use (checked out by a request or"
            " the writer), idle (open, waiting in the pool), overflow (beyond the pool's size;"
            " negative while the pool has not opened all its connections yet).",
            labels=["state"],
        )
        for state, name in (
            ("in_use", "checkedout"),
            ("idle", "checkedin"),
            ("overflow", "overflow"),
        ):
            if name in figures:
                connections.add_metric([state], figures[name])
        yield connections

    def _redis(self) -> Iterator[Metric]:
        shared = self.shared
        configured = shared is not None
        yield GaugeMetricFamily(
            "scanctl_redis_configured", "Whether REDIS_URL is set.", value=int(configured)
        )
        if shared is None:
            return
        link = shared.link
        yield GaugeMetricFamily(
            "scanctl_redis_up",
            "1 while Redis answers; 0 while the service decides from the database alone.",
            value=int(link.up),
        )
        yield CounterMetricFamily(
            "scanctl_redis_failures", "Redis operations (probes too) that failed.", link.failures
        )
        yield CounterMetricFamily(
            "scanctl_redis_recoveries", "Times Redis came back after failing.", link.recoveries
        )
        refused = CounterMetricFamily(
            "scanctl_redis_refusals",
            "Scans refused from Redis alone, before the database, by reason.",
            labels=["reason"],
        )
        for reason, count in shared.guard.refused.items():
            refused.add_metric([reason.value], count)
        yield refused
        yield CounterMetricFamily(
            "scanctl_redis_invalidations_received",
            "Cache invalidations read from the shared channel (own ones included).",
            value=shared.bus.received,
        )
