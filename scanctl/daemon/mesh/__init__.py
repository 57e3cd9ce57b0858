"""The gate mesh: gates of one event on the venue LAN share their admissions.

While the backend is unreachable every gate decides alone; with the mesh, an admission
at one gate reaches the others within a heartbeat or less, so the same ticket at the
next gate is ALREADY_SCANNED (or its screenshot QR_ALREADY_USED), as the backend would
answer. ``wire`` is what crosses the LAN (sealed and signed), ``log`` what each gate
keeps, ``node`` the endpoint on the daemon's loop, ``discovery`` the DNS-SD announcement.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanctl.core import Policy
from scanctl.daemon.config import MeshSettings
from scanctl.daemon.conflicts import ConflictJournal
from scanctl.daemon.mesh.log import MeshLog
from scanctl.daemon.mesh.node import MeshNode
from scanctl.daemon.mesh.wire import MeshCodec, derive_mesh_key
from scanctl.daemon.state import GateState
from scanctl.manifests import DeviceKeys, ManifestHeader

__all__ = [
    "MeshError",
    "MeshNode",
    "build_node",
    "derive_mesh_key",
    "mesh_keys",
    "peer_keys",
]


class MeshError(Exception):
    """The mesh cannot run as configured: the message says why (one line)."""


def peer_keys(header: ManifestHeader) -> dict[str, Ed25519PublicKey]:
    """The signing keys of the gates the manifest lists (the only senders taken)."""
    keys = {}
    for peer in header.peers:
        try:
            raw = base64.b64decode(peer.signing_key, validate=True)
            keys[peer.device_id] = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            continue  # a key that does not parse: that gate cannot take part
    return keys


def mesh_keys(header: ManifestHeader, event_keys: Sequence[bytes]) -> list[bytes]:
    """The mesh keys of the event, current first (as the event keys rotate)."""
    return [derive_mesh_key(key, header.tenant_id, header.event_id) for key in event_keys]


def build_node(
    settings: MeshSettings,
    *,
    header: ManifestHeader,
    keys: DeviceKeys,
    event_keys: Sequence[bytes],
    database: Path,
    state: GateState,
    policy: Callable[[], Policy],
    conflicts: ConflictJournal | None,
    clock_ms: Callable[[], int],
) -> MeshNode:
    """The node of this gate, from gate.toml's `[mesh]` and the held manifest."""
    peers = peer_keys(header)
    if header.device_id not in peers:
        raise MeshError(
            "the held manifest lists no mesh peers for this device (a backend older than"
            " the gate mesh, or a device registered without keys): pull a new manifest"
        )
    codec = MeshCodec(
        event_id=header.event_id,
        device_id=header.device_id,
        signing_key=keys.signing,
        mesh_keys=mesh_keys(header, event_keys),
        peers=peers,
    )
    return MeshNode(
        codec=codec,
        mesh_log=MeshLog(database, header.device_id),
        state=state,
        policy=policy,
        conflicts=conflicts,
        names={peer.device_id: peer.name for peer in header.peers},
        listen=settings.listen_address,
        peers=settings.peer_addresses,
        heartbeat_ms=settings.heartbeat_ms,
        clock_ms=clock_ms,
    )
