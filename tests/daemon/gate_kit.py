"""Builds a real offline gate on disk for tests: identity, a signed manifest, gate.toml."""

from __future__ import annotations

import os
import pty
import secrets
import socket as socket_module
import sys
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from scanctl.core import (
    EventFacts,
    TicketStatus,
    derive_event_key,
    mint_token,
    new_nonce,
    static_code_hash,
)
from scanctl.daemon.identity import DeviceIdentity
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.manifests import (
    DeviceKeys,
    ManifestEntry,
    ManifestSigner,
    ManifestStore,
    ManifestVerifier,
    TrustedKeys,
    build_delta,
    build_manifest,
    seal_event_key,
)
from tests.polling import wait_for as wait_for

SCANCTL = Path(sys.executable).parent / "scanctl"
TENANT = "3f2b8c1e-1111-4a4a-8b8b-000000000001"
VENUE = "5a5a5a5a-3333-4c4c-8d8d-000000000003"
EVENT = "9d8c7b6a-2222-4b4b-9c9c-000000000002"
HOUR_MS = 3_600_000


@dataclass
class Gate:
    data_dir: Path
    event_key: bytes
    identity: DeviceIdentity
    tickets: list[str]
    signer: ManifestSigner
    event: EventFacts
    policy: dict[str, object]
    printed: dict[str, str] | None = None
    """Static printed codes (the secret a ticket's barcode carries) -> their ticket id."""

    def delta(self, now_ms: int, sequence: int, **header: Any) -> bytes:
        """A signed delta on ``sequence - 1`` that changes no ticket (a refresh's answer),
        with the gate's policy; its header overridable (``device_zone=…``, ``policy=…``)."""
        keys = self.identity.keys
        fields: dict[str, Any] = {
            "event": self.event,
            "issued_at_ms": now_ms,
            "valid_until_ms": now_ms + 4 * HOUR_MS,
            "sequence": sequence,
            "base_sequence": sequence - 1,
            "policy": self.policy,
            "device_id": self.identity.device_id,
            "sealed_event_keys": seal_event_key(
                self.event_key,
                keys.exchange_public_b64,
                tenant_id=TENANT,
                event_id=EVENT,
                device_id=self.identity.device_id,
            ),
            "changed": [],
            "signer": self.signer,
        }
        return build_delta(**{**fields, **header})

    def token(self, ticket_id: str, now_ms: int) -> str:
        return mint_token(self.event_key, ticket_id, now_ms, new_nonce())


def provision(
    data_dir: Path,
    now_ms: int,
    *,
    tickets: int = 100,
    refunded: tuple[str, ...] = (),
    policy: dict[str, object] | None = None,
    zones: tuple[str, ...] = (),
    device_zone: str | None = None,
    registered_zone: str | None = None,
    printed: int = 0,
    valid_for_ms: int = 4 * HOUR_MS,
) -> Gate:
    """A registered device with a manifest for ``tickets`` active tickets (plus refunds,
    plus ``printed`` tickets with a static printed code each) granting ``zones``;
    ``device_zone`` is the zone the manifest says the device is registered to,
    ``registered_zone`` the one device.json keeps; the manifest is valid for
    ``valid_for_ms`` from ``now_ms``."""
    signer = ManifestSigner.generate()
    keys = DeviceKeys.generate()
    device_id = "7c0e3d52-4444-4d4d-8e8e-000000000004"
    identity = DeviceIdentity(
        device_id, TENANT, VENUE, keys, (signer.public_key_b64(),), registered_zone
    )
    identity.save(data_dir)
    event_key = derive_event_key(secrets.token_urlsafe(32), TENANT, EVENT)
    event = EventFacts(EVENT, TENANT, VENUE, now_ms - HOUR_MS, now_ms + 6 * HOUR_MS)
    ids = [f"{index:08x}" for index in range(tickets)]
    entries = [ManifestEntry(ticket_id, zones=frozenset(zones)) for ticket_id in ids]
    entries += [ManifestEntry(t, status=TicketStatus.REFUNDED) for t in refunded]
    codes = {secrets.token_urlsafe(24): f"{0xC0DE0000 + index:08x}" for index in range(printed)}
    entries += [ManifestEntry(t, static_hash=static_code_hash(code)) for code, t in codes.items()]
    hold_manifest(
        data_dir,
        event=event,
        now_ms=now_ms,
        valid_for_ms=valid_for_ms,
        policy=policy or {},
        device_id=device_id,
        keys=keys,
        event_key=event_key,
        entries=entries,
        signer=signer,
        device_zone=device_zone,
    )
    return Gate(data_dir, event_key, identity, ids, signer, event, policy or {}, codes)


def hold_manifest(
    data_dir: Path,
    *,
    event: EventFacts,
    now_ms: int,
    valid_for_ms: int,
    policy: dict[str, object],
    device_id: str,
    keys: DeviceKeys,
    event_key: bytes,
    entries: list[ManifestEntry],
    signer: ManifestSigner,
    **header: Any,
) -> None:
    """Sign a full manifest of ``entries`` for one device (its event key sealed to it;
    ``header`` adds fields such as ``device_zone`` or ``peers``) and store it verified in
    ``data_dir``, as `scanctl manifest pull` would."""
    wire = build_manifest(
        event=event,
        issued_at_ms=now_ms,
        valid_until_ms=now_ms + valid_for_ms,
        sequence=1,
        policy=policy,
        device_id=device_id,
        sealed_event_keys=seal_event_key(
            event_key,
            keys.exchange_public_b64,
            tenant_id=TENANT,
            event_id=EVENT,
            device_id=device_id,
        ),
        entries=entries,
        signer=signer,
        **header,
    )
    with ManifestStore(data_dir / MANIFEST_FILE) as store:
        store.load(
            wire,
            ManifestVerifier(TrustedKeys([signer.public_key_b64()])),
            tenant_id=TENANT,
            venue_id=VENUE,
            now_ms=now_ms,
        )


def gate_toml(data_dir: Path, scanners: str, *, settings: str = 'mode = "offline-only"') -> Path:
    path = data_dir / "gate.toml"
    path.write_text(f'event_id = "{EVENT}"\ndata_dir = "{data_dir}"\n{settings}\n\n{scanners}')
    return path


@contextmanager
def pty_pair(link: Path) -> Iterator[int]:
    """A raw pseudo-terminal whose slave is reachable at ``link``; yields the master fd."""
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    link.symlink_to(os.ttyname(slave))
    try:
        yield master
    finally:
        os.close(master)
        os.close(slave)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def accepts(path: Path) -> bool:
    """Whether something listens on the Unix socket (probed without leaking sockets)."""
    with socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def api(socket: Path, path: str, method: str = "GET") -> Any:
    """One call to a daemon's local API."""
    transport = httpx.HTTPTransport(uds=str(socket))
    with httpx.Client(transport=transport, base_url="http://daemon", timeout=5) as client:
        response = client.request(method, path)
        response.raise_for_status()
        return response.json()


def wait_ready(socket: Path, timeout: float = 20.0) -> None:
    """Wait until the daemon answers on ``socket`` and every scanner of it is connected.

    A test must not write a code into a serial port before this: opening a port
    flushes its input (pyserial does), so a code written earlier is silently lost.
    """
    wait_for(lambda: accepts(socket), "the daemon's socket", timeout)
    wait_for(
        lambda: all(
            scanner["connected"]
            for gate in api(socket, "/gates")["gates"]
            for scanner in gate["scanners"]
        ),
        "every scanner of the daemon to connect",
        timeout,
    )
