"""The gate daemon's Prometheus metrics: one registry, served on the socket and over TCP.

`DaemonMetrics` owns a `CollectorRegistry` of its own (never the process-global one,
so that several daemons in one test process stay apart). It holds:

- two histograms observed on the lanes, after the feedback has gone out (so a scan
  never waits for them): ``scanctl_daemon_decision_latency_seconds`` (from the read's
  arrival to its feedback, journal commit included) and
  ``scanctl_daemon_journal_commit_seconds`` (from queueing the decision to its commit);
- `GateCollector`, which reads the daemon's own counters at scrape time: decisions by
  reason and by who decided, bad reads, driver counters, scanner connected, outbox depth
  per state, manifest age and validity, the backend link, conflicts, alerts, uptime;
- the process, platform and garbage-collector collectors of ``prometheus_client``.

More gauges (a mesh's peer lag, say) are a `Collector` given to `add()`; label values
are escaped by the library, so a gate named ``a"b\\c`` cannot break a scrape.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

__all__ = [
    "CONTENT_TYPE",
    "DaemonMetrics",
    "GateCollector",
    "GateSource",
    "LaneLatency",
    "LaneSource",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A journaled decision takes tens of microseconds to a few ms (full sync: the disk's fsync).
_LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip


class LaneSource(Protocol):
    """What the metrics read of one lane (`LaneRunner`)."""

    @property
    def scanner(self) -> str: ...

    @property
    def gate(self) -> str: ...

    @property
    def connected(self) -> bool: ...

    def reasons(self) -> Mapping[str, int]: ...

    def decided_by(self) -> Mapping[str, int]: ...

    def bad_reads(self) -> Mapping[str, int]: ...

    def driver_counters(self) -> Mapping[str, int]: ...


class GateSource(Protocol):
    """What the metrics read of the daemon (`Daemon`); each read happens at scrape time."""

    def metric_lanes(self) -> Sequence[LaneSource]: ...

    def outbox_states(self) -> Mapping[str, int]: ...

    def manifest_facts(self, now_ms: int) -> Mapping[str, Any]: ...

    def link_facts(self) -> Mapping[str, Any] | None: ...

    def conflict_counts(self) -> Mapping[str, int]: ...

    def active_alerts(self) -> Mapping[str, int]: ...

    def uptime_s(self) -> float: ...


class GateCollector(Collector):
    """The daemon's state as metric families, read when scraped (nothing on the hot path)."""

    def __init__(self, source: GateSource, clock_ms: Callable[[], int]) -> None:
        self.source = source
        self.clock_ms = clock_ms

    def collect(self) -> Iterator[Metric]:
        lanes = self.source.metric_lanes()
        yield from self._lanes(lanes)
        outbox = GaugeMetricFamily(
            "scanctl_daemon_outbox_scans",
            "Offline-decided scans by outbox state: pending (not yet accepted by the "
            "backend) or the backend's answer (accepted, duplicate, conflict, rejected).",
            labels=["state"],
        )
        for state, count in sorted(self.source.outbox_states().items()):
            outbox.add_metric([state], count)
        yield outbox
        yield GaugeMetricFamily(
            "scanctl_daemon_outbox_depth",
            "Scans waiting to reach the backend (the outbox's pending state).",
            value=self.source.outbox_states().get("pending", 0),
        )
        yield from self._manifest()
        yield from self._link()
        conflicts = GaugeMetricFamily(
            "scanctl_daemon_conflicts",
            "Double entries reported to this gate, open or acknowledged.",
            labels=["state"],
        )
        for state, count in sorted(self.source.conflict_counts().items()):
            conflicts.add_metric([state], count)
        yield conflicts
        alerts = GaugeMetricFamily(
            "scanctl_daemon_alerts_active",
            "Active alerts by kind (replay/forgery bursts, stale manifest, outbox growth…).",
            labels=["kind"],
        )
        for kind, count in sorted(self.source.active_alerts().items()):
            alerts.add_metric([kind], count)
        yield alerts
        yield GaugeMetricFamily(
            "scanctl_daemon_uptime_seconds",
            "Seconds since the daemon started.",
            value=self.source.uptime_s(),
        )

    def _lanes(self, lanes: Sequence[LaneSource]) -> Iterator[Metric]:
        lane_labels = ["scanner", "gate"]  # the order of the first release
        decisions = CounterMetricFamily(
            "scanctl_daemon_decisions",
            "Decisions journaled (this journal's whole history), by scanner, gate, reason "
            "and whether the reason admits.",
            labels=[*lane_labels, "reason"],
        )
        decided_by = CounterMetricFamily(
            "scanctl_daemon_decided_by",
            "Decisions since start by who decided: offline (this gate) or online (the "
            "backend, online-first mode).",
            labels=[*lane_labels, "decided_by"],
        )
        bad_reads = CounterMetricFamily(
            "scanctl_daemon_bad_reads",
            "Reads answered without a decision (noise, cut short, refused symbology…).",
            labels=[*lane_labels, "reason"],
        )
        driver = CounterMetricFamily(
            "scanctl_daemon_scanner_events",
            "Driver counters: frames read, malformed, over-long, partial, SSI acks/naks…",
            labels=[*lane_labels, "counter"],
        )
        connected = GaugeMetricFamily(
            "scanctl_daemon_scanner_connected",
            "1 while the scanner's device is open, 0 while the driver waits for it.",
            labels=lane_labels,
        )
        for lane in lanes:
            where = [lane.scanner, lane.gate]
            for reason, count in sorted(lane.reasons().items()):
                decisions.add_metric([*where, reason], count)
            for by, count in sorted(lane.decided_by().items()):
                decided_by.add_metric([*where, by], count)
            for reason, count in sorted(lane.bad_reads().items()):
                bad_reads.add_metric([*where, reason], count)
            for counter, value in sorted(lane.driver_counters().items()):
                driver.add_metric([*where, counter], value)
            connected.add_metric(where, int(lane.connected))
        yield from (decisions, decided_by, bad_reads, driver, connected)

    def _manifest(self) -> Iterator[Metric]:
        now = self.clock_ms()
        facts = self.source.manifest_facts(now)
        held = bool(facts.get("held"))
        yield GaugeMetricFamily(
            "scanctl_daemon_manifest_held", "1 while a manifest is held.", value=int(held)
        )
        if not held:
            return
        yield GaugeMetricFamily(
            "scanctl_daemon_manifest_age_seconds",
            "Seconds since the held manifest was issued by the backend.",
            value=facts["age_ms"] / 1000,
        )
        yield GaugeMetricFamily(
            "scanctl_daemon_manifest_valid_seconds",
            "Seconds the held manifest stays valid (negative: expired that long ago).",
            value=(facts["valid_until_ms"] - now) / 1000,
        )
        yield GaugeMetricFamily(
            "scanctl_daemon_manifest_valid",
            "1 while the held manifest is valid, 0 once it is stale.",
            value=int(not facts["stale"]),
        )
        yield GaugeMetricFamily(
            "scanctl_daemon_manifest_sequence",
            "Sequence number of the held manifest.",
            value=facts["sequence"],
        )
        yield GaugeMetricFamily(
            "scanctl_daemon_manifest_tickets",
            "Tickets in the held manifest.",
            value=facts["tickets"],
        )

    def _link(self) -> Iterator[Metric]:
        link = self.source.link_facts()
        yield GaugeMetricFamily(
            "scanctl_daemon_backend_configured",
            "1 when gate.toml names a backend.",
            value=int(link is not None),
        )
        if link is None:
            return
        yield GaugeMetricFamily(
            "scanctl_daemon_backend_up",
            "1 while the backend answers, 0 while the gate decides and journals alone.",
            value=int(bool(link.get("online"))),
        )
        circuit = GaugeMetricFamily(
            "scanctl_daemon_backend_circuit",
            "The backend circuit breaker's state (1 for the current one).",
            labels=["state"],
        )
        circuit.add_metric([str(link.get("circuit"))], 1)
        yield circuit
        contact = link.get("last_contact_ms")
        if contact is not None:
            yield GaugeMetricFamily(
                "scanctl_daemon_backend_last_contact_seconds",
                "Seconds since the backend last answered.",
                value=max(0.0, (self.clock_ms() - contact) / 1000),
            )


class DaemonMetrics:
    """The daemon's registry and the collectors it observes directly (see the module doc).

    Built once per daemon and passed to what records into it; ``add()`` takes any
    further `Collector`. ``render()`` is the exposition text for every endpoint.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.decision_latency = Histogram(
            "scanctl_daemon_decision_latency_seconds",
            "From a read's arrival to its feedback (decision and journal commit), by gate.",
            ["gate"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.journal_latency = Histogram(
            "scanctl_daemon_journal_commit_seconds",
            "From queueing a decision in the journal to its commit (what feedback waits for).",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def add(self, collector: Collector) -> None:
        """Register another collector (its metric names must not clash with ours)."""
        self.registry.register(collector)

    def lane_recorder(self, gate: str) -> LaneLatency:
        """The latency recorder of one lane (labels bound once, not per scan)."""
        return LaneLatency(self.decision_latency.labels(gate), self.journal_latency)

    def render(self) -> bytes:
        """The text exposition format of every collector."""
        return generate_latest(self.registry)


class LaneLatency:
    """One lane's two histograms, with the labels already bound."""

    __slots__ = ("_decision", "_journal")

    def __init__(self, decision: Histogram, journal: Histogram) -> None:
        self._decision = decision
        self._journal = journal

    def observe(self, received: float, queued: float, committed: float) -> None:
        """After the feedback went out: the read's whole latency and its commit's
        (``time.monotonic()`` values: read, queued in the journal, committed)."""
        self._decision.observe(time.monotonic() - received)
        self._journal.observe(committed - queued)
