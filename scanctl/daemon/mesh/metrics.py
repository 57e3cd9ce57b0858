"""The gate mesh's metrics, read from the node at scrape time (see daemon.metrics).

Per peer (labelled by its name in the manifest, else its address): whether it is up,
how many of its own admissions this gate still lacks, and how long it has been silent;
then the datagrams refused by reason and the records held, this gate's and its peers'.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scanctl.daemon.mesh.node import MeshNode

__all__ = ["MeshCollector"]


class MeshCollector(Collector):
    """``scanctl_daemon_mesh_*`` for one node."""

    def __init__(self, node: MeshNode) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        node = self.node
        now = node.clock_ms()
        up = GaugeMetricFamily(
            "scanctl_daemon_mesh_peer_up", "Whether a peer gate was heard lately", labels=["peer"]
        )
        lag = GaugeMetricFamily(
            "scanctl_daemon_mesh_peer_lag_records",
            "A peer's own admissions this gate does not hold yet (by its latest summary)",
            labels=["peer"],
        )
        silence = GaugeMetricFamily(
            "scanctl_daemon_mesh_peer_silence_seconds",
            "Seconds since a peer gate was last heard",
            labels=["peer"],
        )
        for peer in node.peers.values():
            name = node.names.get(peer.device_id or "") or f"{peer.address[0]}:{peer.address[1]}"
            up.add_metric([name], float(peer.state(now) == "up"))
            behind, _ = node.lag(peer)
            if behind is not None:
                lag.add_metric([name], float(behind))
            if peer.last_heard_ms is not None:
                silence.add_metric([name], (now - peer.last_heard_ms) / 1000)
        refused = CounterMetricFamily(
            "scanctl_daemon_mesh_refused",
            "Mesh datagrams refused, by reason",
            labels=["why"],
        )
        for why, count in sorted(node.refused.items()):
            refused.add_metric([why], float(count))
        records = GaugeMetricFamily(
            "scanctl_daemon_mesh_records",
            "Admissions and exits held in the mesh log, this gate's and its peers'",
            labels=["source"],
        )
        records.add_metric(["own"], float(node.log.count(own=True)))
        records.add_metric(["peers"], float(node.log.count(own=False)))
        yield from (up, lag, silence, refused, records)
