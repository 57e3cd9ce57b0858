"""Starts the demo's processes in a temporary directory and stops every one of them.

The stack: the backend on SQLite with freshly generated secrets, an event with a
realistic ticket mix, a registered offline-capable device with a pulled manifest, and
a gate daemon with four simulated scanners (two entry gates and an exit lane). Each
child runs in its own session so the terminal's Ctrl+C reaches only the TUI; the stack
then stops the children itself (SIGTERM, which drains them) and removes the directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from scanctl.backend.auth.principal import Role
from scanctl.backend.auth.tokens import issue_person_token
from scanctl.client import BearerToken, DeviceAuth, ScanctlClient
from scanctl.daemon.identity import DeviceIdentity
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.demo.catalog import demo_tickets, other_event_tickets
from scanctl.manifests import (
    DeviceKeys,
    ManifestSigner,
    ManifestStore,
    ManifestVerifier,
    TrustedKeys,
)

__all__ = ["DemoError", "DemoOptions", "DemoStack", "Summary"]

TENANT = "demo-tenant"
CHUNK = 10_000
START_TIMEOUT_S = 60.0


class DemoError(Exception):
    """A part of the demo did not come up; the message says which."""


@dataclass(frozen=True)
class DemoOptions:
    tickets: int = 20_000
    time_scale: float = 20.0
    peak_per_s: float = 0.15
    mode: str = "online-first"
    keep: bool = False


@dataclass
class Summary:
    """Per gate: admitted, denied by reason (from the daemon's own counters); and who is
    inside (the daemon's ``/status`` totals)."""

    gates: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    @property
    def admitted(self) -> int:
        return sum(int(gate["admitted"]) for gate in self.gates)

    @property
    def exited(self) -> int:
        """Passes out through exit lanes (counted in ``admitted``: the lane opened)."""
        return sum(int(gate["reasons"].get("EXITED", 0)) for gate in self.gates)

    @property
    def entered(self) -> int:
        """Admissions in (first entries and re-entries)."""
        return self.admitted - self.exited

    @property
    def inside(self) -> int:
        return sum(int(count) for count in (self.totals.get("inside") or {}).values())

    def as_json(self) -> dict[str, Any]:
        return {
            "gates": self.gates,
            "admitted": self.admitted,
            "denied": self.denied,
            "entered": self.entered,
            "exited": self.exited,
            "inside": self.inside,
            "ticketsIn": int(self.totals.get("tickets_in", 0)),
        }

    @property
    def denied(self) -> int:
        return sum(int(gate["denied"]) for gate in self.gates)

    def lines(self) -> list[str]:
        out = []
        for gate in sorted(self.gates, key=lambda g: str(g["gate"])):
            denied = ", ".join(
                f"{reason} {count}"
                for reason, count in sorted(gate["reasons"].items())
                if reason not in ("ADMITTED", "RE_ENTRY_ADMITTED", "EXITED")
            )
            out.append(
                f"gate {gate['gate']}: {gate['admitted']} admitted, {gate['denied']} denied"
                + (f" ({denied})" if denied else "")
            )
        out.append(f"total: {self.admitted} admitted, {self.denied} denied")
        out.append(f"entered {self.entered}, exited {self.exited}, inside now {self.inside}")
        return out


def _counters(gates: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(g["gate"], g["admitted"], g["denied"], sorted(g["reasons"].items())) for g in gates]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What the demo's children take from the caller's environment: where programs and
# temporary files are, and the locale. Nothing else: an exported DATABASE_URL, REDIS_URL,
# SCANCTL_* or upstream service must not send the demo's writes somewhere real.
_INHERITED = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SYSTEMROOT")


def demo_env(**settings: str) -> dict[str, str]:
    """The environment of a demo process: the caller's basics and ``settings`` only."""
    env = {name: value for name, value in os.environ.items() if name in _INHERITED}
    env.update({name: value for name, value in os.environ.items() if name.startswith("LC_")})
    env.update(settings)
    return env


def _scanctl() -> list[str]:
    return [sys.executable, "-m", "scanctl.cli"]


class DemoStack:
    """Use as a context manager: everything is up inside, everything is gone after."""

    def __init__(self, options: DemoOptions, log: Any = print) -> None:
        self.options = options
        self.log = log
        self.folder = Path(tempfile.mkdtemp(prefix="scanctl-demo-"))
        self.gate_dir = self.folder / "gate"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.signer = ManifestSigner.generate()
        self.backend_env = demo_env(
            HMAC_SECRET=secrets.token_urlsafe(48),
            JWT_SECRET=secrets.token_urlsafe(48),
            MANIFEST_SIGNING_KEY=self.signer.private_key_b64(),
            SCANCTL_DATA_DIR=str(self.folder / "backend"),
            DATABASE_URL=f"sqlite:///{self.folder / 'backend' / 'backend.sqlite3'}",
        )
        self.venue_id = str(uuid.uuid4())
        self.event_id = str(uuid.uuid4())

    @property
    def socket_path(self) -> Path:
        return self.gate_dir / "daemon.sock"

    @property
    def config_path(self) -> Path:
        return self.gate_dir / "gate.toml"

    def __enter__(self) -> DemoStack:
        try:
            self._start_backend()
            admin = self._admin_token()
            with ScanctlClient(self.url, BearerToken(admin), timeout=60) as backend:
                self._seed_catalog(backend)
                identity = self._register_device(backend)
            self._pull_manifest(identity)
            self._write_gate_config()
            self._start_daemon()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the steps -------------------------------------------------------------------

    def _spawn(self, name: str, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_file = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [*_scanctl(), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the terminal's Ctrl+C is the TUI's, not theirs
        )
        log_file.close()
        self.processes.append(process)
        return process

    def _wait(self, what: str, ready: Any, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = (self.folder / f"{what}.log").read_text(errors="replace")[-2000:]
                raise DemoError(f"the {what} exited with status {process.returncode}:\n{log}")
            if ready():
                return
            time.sleep(0.1)
        raise DemoError(f"the {what} did not come up within {START_TIMEOUT_S:.0f} s")

    def _start_backend(self) -> None:
        self.log(f"starting the backend on {self.url} (SQLite in {self.folder})")
        process = self._spawn(
            "backend", "server", "run", "--port", str(self.port), env=self.backend_env
        )

        def ready() -> bool:
            try:
                return httpx.get(f"{self.url}/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        self._wait("backend", ready, process)

    def _admin_token(self) -> str:
        return issue_person_token(
            self.backend_env["JWT_SECRET"],
            subject="demo-admin",
            tenant_id=TENANT,
            role=Role.ADMIN,
            venue_id=None,
            ttl_seconds=24 * 3600,
            now_s=int(time.time()),
        )

    def _seed_catalog(self, backend: ScanctlClient) -> None:
        now = datetime.now(UTC)
        backend.create_event(
            {
                "id": self.event_id,
                "venueId": self.venue_id,
                "name": "Opening night",
                "startsAt": (now + timedelta(minutes=30)).isoformat(),
                "endsAt": (now + timedelta(hours=6)).isoformat(),
            }
        )
        # Fast lanes: a good scanner does a read every second or two, bursts faster.
        backend.put_policy(self.event_id, {"scanner_rate_limit_per_minute": 600})
        tickets = demo_tickets(self.options.tickets)
        self.log(f"importing {len(tickets)} tickets")
        for start in range(0, len(tickets), CHUNK):
            backend.upsert_tickets(self.event_id, tickets[start : start + CHUNK])
        other = str(uuid.uuid4())
        backend.create_event(
            {
                "id": other,
                "venueId": self.venue_id,
                "name": "Tomorrow's show",
                "startsAt": (now + timedelta(days=1)).isoformat(),
                "endsAt": (now + timedelta(days=1, hours=5)).isoformat(),
            }
        )
        backend.upsert_tickets(other, other_event_tickets(len(tickets) + 100_000))

    def _register_device(self, backend: ScanctlClient) -> DeviceIdentity:
        keys = DeviceKeys.generate()
        device_id = str(uuid.uuid4())
        backend.register_device(
            {
                "deviceId": device_id,
                "name": "Demo gate computer",
                "type": "SCANNER_GUN",
                "venueId": self.venue_id,
                "canScanOffline": True,
                "signingPublicKey": keys.signing_public_b64,
                "sealingPublicKey": keys.exchange_public_b64,
            }
        )
        identity = DeviceIdentity(
            device_id, TENANT, self.venue_id, keys, (self.signer.public_key_b64(),)
        )
        identity.save(self.gate_dir)
        return identity

    def _pull_manifest(self, identity: DeviceIdentity) -> None:
        auth = DeviceAuth(identity.device_id, TENANT, self.venue_id, identity.keys.signing)
        with ScanctlClient(self.url, auth, timeout=60) as device:
            wire = device.pull_manifest(self.event_id, device_id=identity.device_id)
        with ManifestStore(self.gate_dir / MANIFEST_FILE) as store:
            store.load(
                wire,
                ManifestVerifier(TrustedKeys(identity.trusted_manifest_keys)),
                tenant_id=TENANT,
                venue_id=self.venue_id,
                now_ms=time.time_ns() // 1_000_000,
                event_id=self.event_id,
                device_id=identity.device_id,
            )
            self.log(f"pulled a manifest of {len(store)} tickets ({len(wire):,} bytes)")

    def _write_gate_config(self) -> None:
        # Three entry lanes and an exit lane that lets out (some of) those who came in.
        peak = self.options.peak_per_s
        lanes = [
            ("north-1", "north", "entry", 1, peak),
            ("north-2", "north", "entry", 2, peak),
            ("south-1", "south", "entry", 3, peak),
            ("exit-1", "exit", "exit", 4, peak / 2),
        ]
        scanners = "".join(
            f'\n[[scanner]]\nname = "{name}"\ndriver = "simulated"\ngate = "{gate}"\n'
            f'direction = "{direction}"\nrate_per_s = {rate}\n'
            f"seed = {seed}\ntime_scale = {self.options.time_scale}\n"
            for name, gate, direction, seed, rate in lanes
        )
        self.config_path.write_text(
            f'backend = "{self.url}"\nevent_id = "{self.event_id}"\n'
            f'data_dir = "{self.gate_dir}"\nmode = "{self.options.mode}"\n{scanners}'
        )

    def _start_daemon(self) -> None:
        self.log("starting the gate daemon with four simulated scanners")
        # The daemon gets none of the backend's secrets (a device never holds them), and
        # nothing of the caller's but the basics: its gate.toml says everything.
        process = self._spawn(
            "daemon", "daemon", "run", "--config", str(self.config_path), env=demo_env()
        )
        self._wait("daemon", self._daemon_answers, process)

    def _daemon_answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            self.gates()
        except (httpx.HTTPError, OSError):
            return False
        return True

    # -- while it runs ---------------------------------------------------------------

    def _daemon_get(self, path: str) -> Any:
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.socket_path)), base_url="http://daemon"
        ) as client:
            response = client.get(path, timeout=5)
            response.raise_for_status()
            return response.json()

    def gates(self) -> list[dict[str, Any]]:
        gates: list[dict[str, Any]] = self._daemon_get("/gates")["gates"]
        return gates

    def summary(self) -> Summary:
        """Counters and totals of one moment: read again while a scan came in between
        (the doors keep running while the two reads are made)."""
        gates = self.gates()
        for _ in range(20):
            totals = dict(self._daemon_get("/status").get("totals") or {})
            again = self.gates()
            if _counters(again) == _counters(gates):
                break
            gates = again
        return Summary(gates, totals)

    # -- stopping --------------------------------------------------------------------

    def close(self) -> None:
        """Drain every child (daemon first), then remove the folder."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if not self.options.keep:
            shutil.rmtree(self.folder, ignore_errors=True)
