"""Gates of one event for gate-mesh tests: each a real device (its own keys and id), all
holding manifests signed by one backend key that list every gate as a peer; and real
test hosts in network namespaces joined by a bridge, whose links can be cut.
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanctl.core import EventFacts, derive_event_key, mint_token, new_nonce, static_code_hash
from scanctl.daemon.identity import DeviceIdentity
from scanctl.manifests import (
    DeviceKeys,
    ManifestEntry,
    ManifestSigner,
    PeerDevice,
)
from tests.daemon.gate_kit import (
    EVENT,
    HOUR_MS,
    SCANCTL,
    TENANT,
    VENUE,
    api,
    hold_manifest,
    pty_pair,
    wait_for,
    wait_ready,
)

GOOD, BAD = b"\x1b7,", b"\x1b8,"


@dataclass
class MeshGate:
    """One gate box: identity, data directory, its scanner's pty and its daemon."""

    name: str
    directory: Path
    identity: DeviceIdentity
    event_key: bytes
    netns: str | None = None
    master: int | None = None
    process: subprocess.Popen[bytes] | None = None
    config: Path = field(default_factory=Path)

    @property
    def device_id(self) -> str:
        return self.identity.device_id

    @property
    def socket(self) -> Path:
        return self.directory / "daemon.sock"

    def token(self, ticket_id: str, now_ms: int) -> str:
        return mint_token(self.event_key, ticket_id, now_ms, new_nonce())

    def start(self) -> None:
        command = [str(SCANCTL), "daemon", "run", "--config", str(self.config)]
        if self.netns is not None:
            command = ["ip", "netns", "exec", self.netns, *command]
        with (self.directory / "daemon.log").open("ab") as log:
            self.process = subprocess.Popen(command, stderr=log)
        wait_ready(self.socket)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=20) == 0, self.log()
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def log(self) -> str:
        return (self.directory / "daemon.log").read_text(errors="replace")[-3000:]

    def present(self, code: str) -> str:
        """Present a code at the gate's scanner; the reason it was decided with."""
        assert self.master is not None
        os.write(self.master, code.encode() + b"\r")
        ready, _, _ = select.select([self.master], [], [], 5)
        assert ready, f"{self.name} gave no feedback"
        answer = os.read(self.master, 3)
        assert answer in (GOOD, BAD), answer
        latest = api(self.socket, "/scans?limit=1")["scans"][0]
        return str(latest["reason"])

    def status(self) -> dict[str, Any]:
        found: dict[str, Any] = api(self.socket, "/status")
        return found

    def mesh(self) -> dict[str, Any]:
        found: dict[str, Any] = self.status()["mesh"]
        return found


@dataclass
class Venue:
    gates: list[MeshGate]
    tickets: list[str]
    printed: dict[str, str]
    """Printed static codes -> their ticket id."""
    signer: ManifestSigner


def provision_mesh(
    root: Path,
    names: list[str],
    now_ms: int,
    *,
    tickets: int = 200,
    printed: int = 4,
    policy: dict[str, object] | None = None,
    listed: list[str] | None = None,
) -> Venue:
    """``names`` gates of one event, each listed in every manifest (or only ``listed``)."""
    signer = ManifestSigner.generate()
    event_key = derive_event_key(secrets.token_urlsafe(32), TENANT, EVENT)
    event = EventFacts(EVENT, TENANT, VENUE, now_ms - HOUR_MS, now_ms + 6 * HOUR_MS)
    ids = [f"{index:08x}" for index in range(tickets)]
    codes = {secrets.token_urlsafe(24): f"{0xC0DE0000 + index:08x}" for index in range(printed)}
    entries = [ManifestEntry(ticket_id) for ticket_id in ids]
    entries += [ManifestEntry(t, static_hash=static_code_hash(code)) for code, t in codes.items()]
    devices = {name: (str(uuid.uuid4()), DeviceKeys.generate()) for name in names}
    peers = [
        PeerDevice(device_id, name, keys.signing_public_b64)
        for name, (device_id, keys) in devices.items()
        if listed is None or name in listed
    ]
    gates = []
    for name, (device_id, keys) in devices.items():
        directory = root / name
        directory.mkdir(parents=True)
        identity = DeviceIdentity(device_id, TENANT, VENUE, keys, (signer.public_key_b64(),))
        identity.save(directory)
        hold_manifest(
            directory,
            event=event,
            now_ms=now_ms,
            valid_for_ms=4 * HOUR_MS,
            policy=policy or {},
            device_id=device_id,
            keys=keys,
            event_key=event_key,
            entries=entries,
            signer=signer,
            peers=peers,
        )
        gates.append(MeshGate(name, directory, identity, event_key))
    return Venue(gates, ids, codes, signer)


def write_config(
    gate: MeshGate, listen: str, peers: list[str], *, discovery: str = "off", extra: str = ""
) -> None:
    """gate.toml: one serial entry lane at gate ``gate.name``, offline, in the mesh."""
    link = gate.directory / "lane"
    listed = ", ".join(f'"{peer}"' for peer in peers)
    gate.config = gate.directory / "gate.toml"
    gate.config.write_text(
        f'event_id = "{EVENT}"\ndata_dir = "{gate.directory}"\nmode = "offline-only"\n\n'
        f'[mesh]\nlisten = "{listen}"\npeers = [{listed}]\ndiscovery = "{discovery}"\n'
        f"heartbeat_ms = 200\n{extra}\n"
        f'[[scanner]]\nname = "{gate.name}-1"\ndriver = "serial"\npath = "{link}"\n'
        f'gate = "{gate.name}"\ndirection = "entry"\nfeedback = "honeywell"\n'
    )


@contextmanager
def scanners(gates: list[MeshGate]) -> Iterator[None]:
    """A pty per gate (the scanner's end in ``gate.master``); daemons killed at the end."""
    with ExitStack() as stack:
        for gate in gates:
            gate.master = stack.enter_context(pty_pair(gate.directory / "lane"))
        try:
            yield
        finally:
            for gate in gates:
                gate.kill()


# -- test hosts ------------------------------------------------------------------------


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *args] if netns is None else ["ip", "-n", netns, *args]
    subprocess.run(command, check=True, capture_output=True, timeout=10)


def namespaces_usable() -> str | None:
    """None when this machine can make network namespaces, else why not."""
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    probe = f"scm-probe-{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError) as error:
        return f"`ip netns add` failed: {error}"
    _ip("netns", "del", probe)
    return None


@dataclass
class Lan:
    """Hosts in network namespaces on one bridge; 10.77.<n>.<i>/24 each."""

    bridge: str
    prefix: str
    hosts: dict[str, str] = field(default_factory=dict)
    """namespace -> its address."""

    def cut(self, netns: str) -> None:
        _ip("link", "set", f"{netns}-br", "down")

    def heal(self, netns: str) -> None:
        _ip("link", "set", f"{netns}-br", "up")


@contextmanager
def lan(hosts: int) -> Iterator[tuple[Lan, list[str]]]:
    """``hosts`` namespaces on a fresh bridge in the root namespace (which gets .254, so a
    test can reach every host); removed afterwards."""
    tag = f"{os.getpid() % 10000:04d}"
    subnet = 100 + os.getpid() % 150
    prefix = f"10.77.{subnet}"
    bridge = f"scmbr{tag}"
    made = Lan(bridge, prefix)
    names = [f"scm{tag}{chr(ord('a') + index)}" for index in range(hosts)]
    try:
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{prefix}.254/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for index, name in enumerate(names, start=1):
            _ip("netns", "add", name)
            _ip("link", "add", f"{name}-br", "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("link", "set", f"{name}-br", "master", bridge)
            _ip("link", "set", f"{name}-br", "up")
            _ip("addr", "add", f"{prefix}.{index}/24", "dev", "eth0", netns=name)
            _ip("link", "set", "eth0", "up", netns=name)
            _ip("link", "set", "lo", "up", netns=name)
            made.hosts[name] = f"{prefix}.{index}"
        yield made, names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
            subprocess.run(["ip", "link", "del", f"{name}-br"], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=10)


def wait_mesh(gates: list[MeshGate], what: str, check: Any, timeout: float = 10.0) -> None:
    """Wait until ``check(gate.mesh())`` holds on every gate."""
    wait_for(lambda: all(check(gate.mesh()) for gate in gates), what, timeout)
