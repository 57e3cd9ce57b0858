"""The ways a scan is decided, each driven from the outside with one scenario.

- `backend_reasons`: `POST /api/scan` on a real server, with the device's own token,
  naming the lane, its zone, gate and direction, and a scan id — as the daemon does.
- `gate_reasons`: the daemon's offline decision code (`GateDecider`) over a manifest the
  same backend issued, signed and sealed, verified and stored in a real SQLite file.
- `daemon_reasons`: a real `scanctl daemon run` process with one pty lane per scanner,
  online-first against the backend or offline-only; reasons read from its journal.

Every path gets its own device and its own codes (a fresh code has a fresh nonce), so
the paths never see each other's scans: each decides the scenario from the same start.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scanctl.client import DeviceAuth, ScanctlClient
from scanctl.client.device_token import mint_device_token
from scanctl.core import RawScan, Reason, derive_event_key, mint_token, new_nonce
from scanctl.core.tokens import static_code_hash
from scanctl.daemon.decider import GateContext, GateDecider, Lane
from scanctl.daemon.identity import DeviceIdentity
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.daemon.state import GateState
from scanctl.manifests import DeviceKeys, ManifestStore, ManifestVerifier, TrustedKeys
from scanctl.manifests.sealing import open_event_keys
from tests.backend.helpers import SCANCTL, ServerProcess, new_id
from tests.backend.offline_kit import admin
from tests.conformance.scenarios import LANES, PROFILES, Scenario, Step
from tests.daemon.gate_kit import api, pty_pair, wait_ready
from tests.polling import wait_for

__all__ = ["Device", "World", "backend_reasons", "daemon_reasons", "gate_reasons"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _hours(h: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=h)).isoformat()


@dataclass
class Device:
    """A registered device of one scenario, with its keys and a verified manifest."""

    device_id: str
    keys: DeviceKeys
    identity: DeviceIdentity
    data_dir: Path
    event: str
    tickets: list[str]
    secrets: list[str]
    event_key: bytes

    def auth(self) -> DeviceAuth:
        return DeviceAuth(
            self.device_id, self.identity.tenant_id, self.identity.venue_id, self.keys.signing
        )


@dataclass
class World:
    """One backend, one tenant and venue; an event per profile, made when first needed."""

    server: ServerProcess
    root: Path
    tenant: str = field(default_factory=lambda: f"conformance-{secrets.token_hex(3)}")
    venue: str = field(default_factory=new_id)
    events: dict[str, str] = field(default_factory=dict)
    minted: int = 0

    def event(self, profile: str) -> str:
        if profile not in self.events:
            spec = PROFILES[profile]
            event = new_id()
            with admin(self.server, self.tenant) as http:
                body = {
                    "id": event,
                    "venueId": self.venue,
                    "name": f"Conformance {profile}",
                    "startsAt": _hours(spec.starts_h),
                    "endsAt": _hours(spec.ends_h),
                }
                assert http.post("/api/catalog/events", json=body).status_code == 201
                answer = http.put(f"/api/policies/{event}", json=spec.policy)
                assert answer.status_code == 200, answer.text
            self.events[profile] = event
        return self.events[profile]

    def device(self, scenario: Scenario) -> Device:
        """The scenario's tickets (new ones, for this device alone), a device registered
        with the scenario's zone, and the manifest the backend issues it."""
        event = self.event(scenario.profile)
        tickets, printed, rows = [], [], []
        for spec in scenario.tickets:
            self.minted += 1
            ticket = f"{secrets.randbits(28) << 4 | self.minted % 16:08x}"
            secret = secrets.token_urlsafe(24)
            row: dict[str, Any] = {"id": ticket, "staticHash": static_code_hash(secret)}
            for key, value in spec.items():
                if key == "from_h":
                    row["validFrom"] = _hours(value)
                elif key == "until_h":
                    row["validUntil"] = _hours(value)
                else:
                    row[key] = value
            tickets.append(ticket)
            printed.append(secret)
            rows.append(row)
        with admin(self.server, self.tenant) as http:
            answer = http.post(f"/api/catalog/events/{event}/tickets", json={"tickets": rows})
            assert answer.status_code == 200, answer.text
        return self.register(event, tickets, printed, scenario.device_zone)

    def register(
        self, event: str, tickets: list[str], printed: list[str], zone: str | None = None
    ) -> Device:
        """A device of the venue registered (with ``zone``), holding the manifest of
        ``event`` the backend issues it; ``tickets``/``printed`` are what its codes name."""
        keys = DeviceKeys.generate()
        device_id = new_id()
        registration: dict[str, Any] = {
            "deviceId": device_id,
            "name": "Conformance gate",
            "type": "SCANNER_GUN",
            "venueId": self.venue,
            "canScanOffline": True,
            "signingPublicKey": keys.signing_public_b64,
            "sealingPublicKey": keys.exchange_public_b64,
        }
        if zone:
            registration["zone"] = zone
        with admin(self.server, self.tenant) as http:
            answer = http.post("/api/devices/register", json=registration)
            assert answer.status_code == 201, answer.text
            trusted = answer.json()["manifestSigningKey"]
        data_dir = self.root / device_id
        data_dir.mkdir(parents=True)
        identity = DeviceIdentity(device_id, self.tenant, self.venue, keys, (trusted,))
        identity.save(data_dir)
        device = Device(
            device_id,
            keys,
            identity,
            data_dir,
            event,
            tickets,
            printed,
            derive_event_key(self.server.env["HMAC_SECRET"], self.tenant, event),
        )
        with ScanctlClient(self.server.url, device.auth()) as client:
            wire = client.pull_manifest(event, device_id=device_id)
        with ManifestStore(data_dir / MANIFEST_FILE) as store:
            store.load(
                wire,
                ManifestVerifier(TrustedKeys(identity.trusted_manifest_keys)),
                tenant_id=self.tenant,
                venue_id=self.venue,
                now_ms=now_ms(),
            )
        return device


class Codes:
    """The codes one path presents: fresh ones minted at the moment of each read."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.last = ""

    def code(self, step: Step) -> str:
        device = self.device
        ticket = device.tickets[step.ticket]
        match step.code:
            case "same":
                return self.last
            case "fresh":
                code = mint_token(device.event_key, ticket, now_ms(), new_nonce())
            case "expired":
                code = mint_token(device.event_key, ticket, now_ms() - 600_000, new_nonce())
            case "forged":
                good = mint_token(device.event_key, ticket, now_ms(), new_nonce())
                code = good[:-1] + ("0" if good[-1] != "0" else "1")
            case "printed":
                code = device.secrets[step.ticket]
            case "garbage":
                code = "not a ticket " + secrets.token_hex(4)
            case other:
                raise AssertionError(f"no such code kind {other!r}")
        self.last = code
        return code


def backend_reasons(server: ServerProcess, device: Device, scenario: Scenario) -> list[Reason]:
    """Each step as `POST /api/scan`, as the daemon's online-first path sends it."""
    codes = Codes(device)
    reasons = []
    token = mint_device_token(
        device_id=device.device_id,
        tenant_id=device.identity.tenant_id,
        venue_id=device.identity.venue_id,
        private_key=device.keys.signing,
        now=time.time(),
    )
    with server.client(token) as http:
        for step in scenario.steps:
            lane = LANES[step.lane]
            body: dict[str, Any] = {
                "qrData": codes.code(step),
                "eventId": device.event,
                "deviceId": device.device_id,
                "gate": lane.gate,
                "direction": lane.direction.value,
                "lane": step.lane,
                "scanId": str(uuid.uuid4()),
                "timestamp": now_ms(),
            }
            if lane.zone:
                body["zone"] = lane.zone
            response = http.post("/api/scan", json=body)
            assert response.status_code == 200, response.text
            reasons.append(Reason(response.json()["reason"]))
    return reasons


def gate_reasons(device: Device, scenario: Scenario) -> list[Reason]:
    """Each step through the daemon's offline decision, on the manifest the backend issued."""
    codes = Codes(device)
    reasons = []
    with ManifestStore(device.data_dir / MANIFEST_FILE) as store:
        header = store.header
        assert header is not None
        keys = tuple(open_event_keys(header, device.keys.exchange))
        context = GateContext(
            header.event,
            header.policy,
            keys,
            device.device_id,
            header.issued_at_ms,
            device_zone=header.device_zone,
        )
        decider = GateDecider(context, store, GateState())
        for step in scenario.steps:
            spec = LANES[step.lane]
            lane = Lane(step.lane, spec.gate, spec.direction, spec.zone)
            raw = RawScan(codes.code(step).encode(), "]Q1", step.lane, time.monotonic())
            decision, _entry = decider.decide(decider.take(raw, lane, now_ms()))
            reasons.append(decision.reason)
    return reasons


GOOD, BAD = b"\x1b7,", b"\x1b8,"


def _lane_toml(name: str, link: Path) -> str:
    spec = LANES[name]
    zone = f'zone = "{spec.zone}"\n' if spec.zone else ""
    return (
        f'[[scanner]]\nname = "{name}"\ndriver = "serial"\npath = "{link}"\n'
        f'gate = "{spec.gate}"\ndirection = "{spec.direction.value}"\n{zone}'
        'feedback = "honeywell"\n'
    )


@contextmanager
def running_daemon(
    server: ServerProcess, device: Device, lanes: list[str], mode: str
) -> Iterator[tuple[Path, dict[str, int]]]:
    """A real daemon for the device with a pty per lane: (its socket, lane -> master fd)."""
    data_dir = device.data_dir
    with ExitStack() as stack:
        masters = {name: stack.enter_context(pty_pair(data_dir / name)) for name in lanes}
        config = data_dir / "gate.toml"
        config.write_text(
            f'backend = "{server.url}"\nevent_id = "{device.event}"\ndata_dir = "{data_dir}"\n'
            f'mode = "{mode}"\n\n' + "\n".join(_lane_toml(n, data_dir / n) for n in lanes)
        )
        with (data_dir / "daemon.log").open("wb") as log:
            daemon = subprocess.Popen(
                [SCANCTL, "daemon", "run", "--config", str(config)], stderr=log
            )
        socket = data_dir / "daemon.sock"
        try:
            wait_ready(socket)
            if mode == "online-first":
                wait_for(
                    lambda: api(socket, "/status")["link"]["online"], what="the link", timeout=20
                )
            yield socket, masters
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=20) == 0, (data_dir / "daemon.log").read_text()


def daemon_reasons(
    server: ServerProcess, device: Device, scenario: Scenario, mode: str
) -> list[tuple[Reason, str]]:
    """Each step read by a real daemon's serial lane: (reason, decided_by) from its journal."""
    lanes = sorted({step.lane for step in scenario.steps})
    codes = Codes(device)
    with running_daemon(server, device, lanes, mode) as (socket, masters):
        for step in scenario.steps:
            master = masters[step.lane]
            os.write(master, codes.code(step).encode() + b"\r")
            assert select.select([master], [], [], 5)[0], "the lane gave no feedback in 5 s"
            assert os.read(master, 3) in (GOOD, BAD)
        journaled = api(socket, f"/scans?limit={len(scenario.steps)}")["scans"]
    return [(Reason(s["reason"]), s["decided_by"]) for s in reversed(journaled)]
