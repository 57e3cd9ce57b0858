"""Decision counters of the backend, and the process collectors, for `/metrics`.

``scanctl_scan_decisions_total{event, gate, reason, decided_by}``: every decision the
backend stored, whether it decided it (``online``: `POST /api/scan`) or a gate did and
uploaded it (``offline``: `POST /api/offline/reconcile`). Counting is a dict increment
(online: on the event loop; offline: under a lock, from worker threads); the families
are built when `/metrics` is scraped. Label values are escaped by prometheus_client, so
a gate name with quotes or backslashes cannot break a scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

__all__ = ["DecisionCounts", "register_process_collectors"]

_Key = tuple[str, str, str]  # event, gate, reason


class DecisionCounts(Collector):
    """Stored decisions by event, gate, reason and who decided (online, offline)."""

    def __init__(self) -> None:
        self._online: dict[_Key, int] = {}
        self._offline: dict[_Key, int] = {}
        self._offline_lock = threading.Lock()

    def online(self, event_id: str, gate: str | None, reason: str) -> None:
        """One decision of `POST /api/scan` (call from the event loop only)."""
        key = (event_id, gate or "", reason)
        self._online[key] = self._online.get(key, 0) + 1

    def offline(self, decisions: Iterable[tuple[str, str | None, str]]) -> None:
        """Gate decisions stored by a reconciliation: (event, gate, reason) each."""
        with self._offline_lock:
            for event_id, gate, reason in decisions:
                key = (event_id, gate or "", reason)
                self._offline[key] = self._offline.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "scanctl_scan_decisions",
            "Scan decisions stored, by event, gate, reason and who decided: online (this "
            "backend, POST /api/scan) or offline (a gate, uploaded by reconciliation).",
            labels=["event", "gate", "reason", "decided_by"],
        )
        online = dict(self._online)  # a copy: the loop may add a key meanwhile
        with self._offline_lock:
            offline = dict(self._offline)
        for by, counts in (("online", online), ("offline", offline)):
            for (event_id, gate, reason), count in sorted(counts.items()):
                family.add_metric([event_id, gate, reason, by], count)
        yield family


def register_process_collectors(registry: CollectorRegistry) -> None:
    """CPU, memory, file descriptors, start time, Python version and GC of this process."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
