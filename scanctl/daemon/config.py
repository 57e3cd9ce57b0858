"""The gate daemon's configuration: gate.toml plus SCANCTL_* environment overrides.

Example::

    backend = "https://scan.example.org"
    event_id = "9d8c7b6a-2222-4b4b-9c9c-000000000002"
    data_dir = "/var/lib/scanctl"
    socket = "/run/scanctl/daemon.sock"
    mode = "online-first"

    [[scanner]]
    name = "north-1"
    driver = "serial"
    path = "/dev/scanctl/north-1"
    baud = 9600
    gate = "north"
    direction = "entry"
    feedback = "honeywell"
    inter_byte_timeout_ms = 100

Every problem in the file is reported at once, before anything starts.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from scanctl.core import PLACE_NAME_PATTERN, Direction, ScanMode
from scanctl.daemon.journal import JournalSync
from scanctl.daemon.layout import JOURNAL_FILE, SOCKET_FILE

__all__ = [
    "DEFAULT_SYMBOLOGIES",
    "ConfigError",
    "DaemonSettings",
    "DriverKind",
    "FeedbackKind",
    "MeshDiscovery",
    "MeshSettings",
    "ScannerSettings",
    "Terminator",
    "load_settings",
]


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class DriverKind(StrEnum):
    SERIAL = "serial"
    HID = "hid"
    TCP = "tcp"
    STDIN = "stdin"
    SIMULATED = "simulated"


class Terminator(StrEnum):
    CR = "cr"
    LF = "lf"
    CRLF = "crlf"
    STX_ETX = "stx-etx"


class FeedbackKind(StrEnum):
    NONE = "none"
    HONEYWELL = "honeywell"
    ZEBRA_SSI = "zebra-ssi"


DEFAULT_SYMBOLOGIES = ("qr", "code128", "pdf417", "aztec", "datamatrix")
"""What a lane accepts unless told otherwise: the symbologies ticketing systems print."""


class ScannerSettings(BaseModel):
    """One `[[scanner]]` table: where codes come from and which lane they open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    ]
    """Unique name, shown in the TUI and stored with every scan; the lane's name online."""
    driver: DriverKind
    """How the scanner is attached."""
    gate: Annotated[str, Field(min_length=1, max_length=64, pattern=PLACE_NAME_PATTERN)]
    """The gate this scanner's lane belongs to."""
    direction: Direction = Direction.ENTRY
    """Entry lanes admit; exit lanes record people leaving."""
    zone: Annotated[str, Field(min_length=1, max_length=64, pattern=PLACE_NAME_PATTERN)] | None = (
        None
    )
    """The zone behind this lane; unset means the device's registered zone, else the
    policy's gate zone. On a device registered to a zone it may only repeat that zone
    (the daemon refuses to start otherwise)."""
    path: str | None = None
    """Device path (serial: /dev/ttyUSB0 or a udev name; hid: /dev/input/by-id/…)."""
    url: str | None = None
    """tcp://host:port for network scanners."""
    baud: Annotated[int, Field(gt=0)] = 9600
    """Serial speed."""
    terminator: Terminator = Terminator.CR
    """How a serial scanner ends a frame."""
    feedback: FeedbackKind = FeedbackKind.NONE
    """Good/bad read signalling protocol, where the scanner documents one."""
    symbologies: list[str] = Field(default_factory=lambda: list(DEFAULT_SYMBOLOGIES))
    """Symbologies this lane accepts (AIM names). The default takes what venues print:
    QR (rotating app codes), Code 128, PDF417, Aztec and Data Matrix (printed and
    wallet tickets); a read of any other kind (a product's EAN) is answered with a
    bad beep and SYMBOLOGY_NOT_ACCEPTED. Frames without an AIM prefix are accepted."""
    inter_byte_timeout_ms: Annotated[int, Field(ge=10, le=5000)] | None = None
    """How long a code may pause mid-frame before what came so far is dropped (and
    answered as INCOMPLETE). Unset: 100 ms for serial and TCP scanners, 5 s for stdin,
    the HID driver's inter-key timeout for keyboard wedges. Raise it for Bluetooth
    (SPP) scanners, which can pause 150 ms or more mid-code: 300 is a good start."""
    ssi_packets: bool = False
    """Zebra SSI only: the decoder sends codes as DECODE_DATA packets ("Decode Data
    Packet Format: packeted") rather than as plain text with a suffix."""
    layout: str = "us"
    """Keyboard layout of a HID wedge (us, uk, de, fr)."""
    rate_per_s: Annotated[float, Field(gt=0, le=100_000)] = 5.0
    """Simulated scanners: mean arrivals per second at the peak."""
    seed: int = 0
    """Simulated scanners: random seed, for repeatable runs."""
    time_scale: Annotated[float, Field(gt=0, le=10_000)] = 1.0
    """Simulated scanners: how much faster than real time the arrival curve runs."""

    @model_validator(mode="after")
    def _needs_its_address(self) -> Self:
        if self.driver in (DriverKind.SERIAL, DriverKind.HID) and not self.path:
            raise ValueError(f"a {self.driver} scanner needs `path`")
        if self.driver is DriverKind.TCP and not self.url:
            raise ValueError("a tcp scanner needs `url` (tcp://host:port)")
        if self.ssi_packets and self.feedback is not FeedbackKind.ZEBRA_SSI:
            raise ValueError('`ssi_packets` needs feedback = "zebra-ssi"')
        if self.feedback is not FeedbackKind.NONE and self.driver is not DriverKind.SERIAL:
            raise ValueError(f"feedback {self.feedback} needs a serial scanner")
        return self


MESH_PORT = 7488
"""The gate mesh's default UDP port (open it between the gates, and only there)."""


class MeshDiscovery(StrEnum):
    MDNS = "mdns"
    OFF = "off"


def _host_port(text: str, default_port: int | None) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``; the port may be left out where there is a default,
    and is 0 — any free port — only where there is none: a listening address)."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        host, port = text, ""
    host = host.strip("[]")
    if not host:
        raise ValueError(f"{text!r}: no host")
    if not port:
        if default_port is None:
            raise ValueError(f"{text!r}: no port")
        return host, default_port
    lowest = 0 if default_port is None else 1
    if not port.isdigit() or not lowest <= int(port) < 65536:
        raise ValueError(f"{text!r}: the port is not a number from {lowest} to 65535")
    return host, int(port)


class MeshSettings(BaseModel):
    """The `[mesh]` table: gates of one event share admissions on the venue LAN."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """Share admissions with the other gates of the event (the table alone turns it on)."""
    listen: str = f"0.0.0.0:{MESH_PORT}"
    """Where this gate takes its peers' datagrams (UDP), as host:port."""
    peers: list[str] = Field(default_factory=list)
    """Other gates as host:port (port defaults to 7488): always tried, whatever
    discovery finds."""
    discovery: MeshDiscovery = MeshDiscovery.MDNS
    """``mdns`` announces this gate and finds the event's others by DNS-SD/mDNS
    (_scanctl-mesh._udp) where the LAN passes multicast; ``off`` uses `peers` only."""
    heartbeat_ms: Annotated[int, Field(ge=50, le=10_000)] = 500
    """How often each gate tells its peers what it holds (the catch-up pace)."""

    @model_validator(mode="after")
    def _addresses_parse(self) -> Self:
        _host_port(self.listen, None)
        for peer in self.peers:
            _host_port(peer, MESH_PORT)
        return self

    @property
    def listen_address(self) -> tuple[str, int]:
        return _host_port(self.listen, None)

    @property
    def peer_addresses(self) -> list[tuple[str, int]]:
        return [_host_port(peer, MESH_PORT) for peer in self.peers]


class DaemonSettings(BaseSettings):
    """The whole daemon configuration (gate.toml, overridable by SCANCTL_* variables)."""

    model_config = SettingsConfigDict(
        env_prefix="SCANCTL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    backend: str | None = None
    """Base URL of the scanning backend; unset runs the gate offline only."""
    event_id: Annotated[str, Field(min_length=1)]
    """The event this gate scans for."""
    data_dir: Path
    """Where the gate keeps its SQLite file (journal, manifest, nonces)."""
    socket: Path | None = None
    """The local API's Unix socket; defaults to daemon.sock in the data directory."""
    mode: ScanMode = ScanMode.OFFLINE_ONLY
    """online-first asks the backend with a deadline; offline-only never asks."""
    online_deadline_ms: Annotated[int, Field(ge=10, le=5000)] = 300
    """How long an online decision may take before the gate decides offline."""
    manifest_refresh_s: Annotated[int, Field(ge=5)] = 60
    """How often to pull a manifest delta while the backend is reachable."""
    outbox_batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    """How many journaled scans one reconciliation push carries."""
    conflict_check_s: Annotated[float, Field(ge=0.2, le=3600)] = 30
    """How often to ask the backend about conflicts with this gate's scans while it is
    reachable (also after every push and after reconnecting)."""
    journal_sync: JournalSync = JournalSync.NORMAL
    """When a scan counts as journaled, and so when the scanner beeps. ``normal``: once
    the operating system has it — a crash or kill of the daemon loses nothing, and the
    log is fsynced every ``journal_flush_ms``, the most a power cut can take. ``full``:
    once it is fsynced — nothing lost even to a power cut, at the disk's fsync latency
    on every scan (10–20 ms at p99 on a cloud disk)."""
    journal_flush_ms: Annotated[int, Field(ge=10, le=5000)] = 100
    """How often, with ``journal_sync = "normal"``, the journal is fsynced."""
    log_format: Literal["auto", "human", "logfmt", "json"] = "auto"
    """The log on stderr: ``json`` (one object a line), ``logfmt`` or ``human``;
    ``auto`` is human on a terminal and logfmt otherwise (journald)."""
    metrics_listen: str | None = None
    """Also serve Prometheus metrics on this TCP address (``host:port``, e.g.
    ``127.0.0.1:9464``; ``[::]:9464`` for every interface). Unset (the default): only on
    the local API socket's ``/metrics``."""
    scanner: list[ScannerSettings] = Field(min_length=1)
    """One table per scanner."""
    mesh: MeshSettings | None = None
    """The gate mesh (see `[mesh]`); absent: this gate decides alone when offline."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides gate.toml (which arrives as init arguments).
        return env_settings, init_settings

    @model_validator(mode="after")
    def _names_are_unique(self) -> Self:
        names = [scanner.name for scanner in self.scanner]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"scanner names must be unique: {', '.join(duplicates)}")
        if self.mode is ScanMode.ONLINE_FIRST and not self.backend:
            raise ValueError("mode online-first needs `backend`")
        if self.metrics_listen is not None:
            self.metrics_address  # noqa: B018 - raises ValueError for a bad address
        return self

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """``metrics_listen`` as (host, port), or None when unset."""
        if self.metrics_listen is None:
            return None
        host, sep, port = self.metrics_listen.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("metrics_listen must be host:port, e.g. 127.0.0.1:9464")
        return host, int(port)

    @property
    def socket_path(self) -> Path:
        return self.socket or self.data_dir / SOCKET_FILE

    @property
    def database_path(self) -> Path:
        return self.data_dir / JOURNAL_FILE


def load_settings(path: Path | None, **overrides: Any) -> DaemonSettings:
    """Read gate.toml (if given), apply overrides and the environment; ConfigError lists all."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError([f"{path}: cannot read ({error.strerror})"]) from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError([f"{path}: not valid TOML ({error})"]) from error
    data.update(overrides)
    try:
        return DaemonSettings(**data)
    except ValidationError as error:
        raise ConfigError([_describe(problem) for problem in error.errors()]) from error


def _describe(problem: Any) -> str:
    location = ".".join(str(part) for part in problem["loc"]) or "config"
    return f"{location}: {problem['msg']}"
