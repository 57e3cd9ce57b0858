"""The alerts the gate mesh raises: a peer lost, and datagrams that should not exist.

A gate that could hear a peer and no longer can is deciding without it: a supervisor
should know (both sides keep deciding; overlaps become conflicts when the link heals).
Refused datagrams other than stale ones (which a clock step or a long partition can
cause) mean a forged or replayed message on the LAN, or a gate with the wrong manifest.
"""

from __future__ import annotations

from scanctl.daemon.alerts import AlertBook, AlertKind, Severity
from scanctl.daemon.mesh.node import MeshNode

__all__ = ["watch_mesh"]

_HOSTILE = ("unknown-sender", "bad-signature", "undecryptable", "replayed")


def watch_mesh(alerts: AlertBook, node: MeshNode, now_ms: int) -> None:
    """Raise or clear the mesh's alerts from the node's state (once a second)."""
    for peer in node.peers.values():
        name = node.names.get(peer.device_id or "") or f"{peer.address[0]}:{peer.address[1]}"
        key = peer.device_id or name
        if peer.state(now_ms) == "down":
            alerts.raise_alert(
                AlertKind.MESH_PEER_LOST,
                key,
                f"gate mesh: no word from {name} since"
                f" {(now_ms - (peer.last_heard_ms or now_ms)) // 1000} s; both keep deciding",
            )
        else:
            alerts.clear(AlertKind.MESH_PEER_LOST, key)
    hostile = sum(node.refused[why] for why in _HOSTILE)
    if hostile > node.hostile_seen:
        node.hostile_seen = hostile
        alerts.raise_alert(
            AlertKind.MESH_HOSTILE,
            "mesh",
            f"gate mesh: {hostile} datagram(s) refused as forged, replayed or from an"
            " unknown device (see daemon status --json: mesh.refused)",
            severity=Severity.CRITICAL,
        )
