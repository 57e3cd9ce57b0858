"""A gate's data directory provisioned against a real backend, and a backend restart."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from scanctl.client import DeviceAuth, ScanctlClient
from scanctl.daemon.identity import DeviceIdentity
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.manifests import ManifestStore, ManifestVerifier, TrustedKeys
from tests.backend.helpers import SCANCTL, ServerProcess, wait_for
from tests.backend.offline_kit import Gate, Venue, register_gate
from tests.daemon.gate_kit import api


def provision_gate(server: ServerProcess, venue: Venue, gate_dir: Path) -> Gate:
    """Register a gate device and give ``gate_dir`` its identity and a verified manifest,
    as `scanctl device register` and `scanctl manifest pull` would."""
    device = register_gate(server, venue)
    identity = DeviceIdentity(
        device.device_id, venue.tenant, venue.venue, device.keys, (device.manifest_key,)
    )
    identity.save(gate_dir)
    auth = DeviceAuth(device.device_id, venue.tenant, venue.venue, device.keys.signing)
    with ScanctlClient(server.url, auth) as client:
        wire = client.pull_manifest(venue.event, device_id=device.device_id)
    with ManifestStore(gate_dir / MANIFEST_FILE) as store:
        store.load(
            wire,
            ManifestVerifier(TrustedKeys(identity.trusted_manifest_keys)),
            tenant_id=venue.tenant,
            venue_id=venue.venue,
            now_ms=time.time_ns() // 1_000_000,
        )
    return device


def restart(server: ServerProcess) -> ServerProcess:
    """The same backend (port, secrets, database) started again."""
    log = server.log_path.open("ab")
    process = subprocess.Popen(
        [SCANCTL, "server", "run", "--port", str(server.port)],
        env=dict(server.env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    again = ServerProcess(process, server.port, server.env, server.log_path)
    wait_for(again.ready, timeout=30, what="the backend to come back")
    return again


def restart_and_drain(server: ServerProcess, socket: Path) -> ServerProcess:
    """Start the backend again and wait until the gate's outbox has reached it."""
    again = restart(server)
    wait_for(
        lambda: api(socket, "/status")["journal"]["unsent"] == 0,
        timeout=90,
        what="the outbox to drain",
    )
    return again
