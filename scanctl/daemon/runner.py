"""The gate daemon: scanners -> decide -> journal -> feedback, with a local API.

``Daemon(settings, identity)`` holds the running state explicitly; ``run()`` serves
until the first SIGTERM or SIGINT, then drains: the readers stop, every decided read
gets its journal commit and its feedback, the journal is closed, and ``run()`` returns.
A second SIGINT while draining gives up at once (exit 130): whatever got a green light
is on disk already, because feedback only follows a commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import signal
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from scanctl import __version__
from scanctl.core import (
    Reason,
    ScanMode,
    StaleManifestAction,
    TicketStatus,
    extended_until_ms,
    lane_zone_conflict,
)
from scanctl.daemon.alert_store import AlertStore
from scanctl.daemon.alerts import AlertBook, AlertKind, BurstDetector, Severity
from scanctl.daemon.config import DaemonSettings, DriverKind, MeshDiscovery, ScannerSettings
from scanctl.daemon.conflicts import ConflictJournal
from scanctl.daemon.decider import GateContext, GateDecider, Lane
from scanctl.daemon.driver_factory import build_driver
from scanctl.daemon.events import EventBus
from scanctl.daemon.identity import DeviceIdentity, IdentityError, check_data_dir
from scanctl.daemon.journal import Journal, JournalError
from scanctl.daemon.lanes import LaneRunner, LaneStats, wall_clock_ms
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.daemon.local_api import LocalApi, MetricsListener
from scanctl.daemon.manifest_watch import watch_manifest
from scanctl.daemon.mesh import MeshError, MeshNode, build_node, mesh_keys, peer_keys
from scanctl.daemon.mesh.metrics import MeshCollector
from scanctl.daemon.mesh.watch import watch_mesh
from scanctl.daemon.metrics import DaemonMetrics, GateCollector
from scanctl.daemon.overrides import OverrideBook, upload_overrides
from scanctl.daemon.state import GateState
from scanctl.daemon.supervisor import supervise
from scanctl.daemon.sync import BackendLink
from scanctl.daemon.systemd import Notifier
from scanctl.daemon.throughput import Throughput
from scanctl.drivers import ScannerDriver
from scanctl.manifests.errors import ManifestError, SealError
from scanctl.manifests.model import ManifestHeader
from scanctl.manifests.sealing import open_event_keys
from scanctl.manifests.signing import TrustedKeys
from scanctl.manifests.store import ManifestStore
from scanctl.manifests.verify import ManifestVerifier

if TYPE_CHECKING:
    from scanctl.daemon.mesh.discovery import Discovery

__all__ = ["MANIFEST_FILE", "Daemon", "DaemonError"]

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 10.0
WATCH_S = 1.0
NONCE_GC_EVERY = 30
REPLAY_BURST = 3
FORGERY_BURST = 5
BURST_WINDOW_MS = 60_000
OUTBOX_ALERT_DEPTH = 1_000


class DaemonError(Exception):
    """The daemon cannot start: the message says what to do."""


class Daemon:
    """One gate computer's daemon. Build it, then ``await run()``."""

    def __init__(
        self,
        settings: DaemonSettings,
        identity: DeviceIdentity,
        *,
        drivers: Mapping[str, ScannerDriver] | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.clock_ms = clock_ms
        self.bus = EventBus()
        self.metrics = DaemonMetrics()
        """The gate's Prometheus registry: pass it to whatever adds metrics."""
        self.throughput = Throughput()
        self.alerts = AlertBook(self.bus, clock_ms)
        self._replays = BurstDetector(REPLAY_BURST, BURST_WINDOW_MS)
        self._forgeries = BurstDetector(FORGERY_BURST, BURST_WINDOW_MS)
        self.started_at_ms = clock_ms()
        self.draining = False
        self.failure: str | None = None
        """Why the daemon stopped on its own (a set-up error found while running): the
        command exits 2 with it, as it would at start."""
        self._given_drivers = dict(drivers or {})
        self._stop = asyncio.Event()
        self._paused: set[str] = set()
        self.lanes: list[LaneRunner] = []
        self.journal: Journal | None = None
        self.manifest: ManifestStore | None = None
        self.decider: GateDecider | None = None
        self.link: BackendLink | None = None
        self.conflicts: ConflictJournal | None = None
        self.overrides: OverrideBook | None = None
        self.mesh: MeshNode | None = None
        self._discovery: Discovery | None = None  # set when mDNS discovery runs
        self._scrape: MetricsListener | None = None
        self.metrics.add(GateCollector(self, clock_ms))  # reads the state above when scraped

    # -- start and stop --------------------------------------------------------------

    def open(self) -> None:
        """Open the journal and manifest and build the lanes (no I/O on scanners yet)."""
        settings = self.settings
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            check_data_dir(settings.data_dir)
            # Rebuilt from the signed bytes it was applied from: an edit of the file on
            # disk is refused here, never obeyed at the gate.
            self.manifest = ManifestStore(
                settings.data_dir / MANIFEST_FILE,
                verifier=ManifestVerifier(TrustedKeys(self.identity.trusted_manifest_keys)),
            )
        except (IdentityError, ManifestError) as error:
            raise DaemonError(str(error)) from None
        header = self.manifest.header
        if header is None:
            raise DaemonError(
                f"no manifest held in {settings.data_dir}: run `scanctl manifest pull "
                f"{settings.event_id}` while the backend is reachable"
            )
        if header.event_id != settings.event_id:
            raise DaemonError(
                f"the held manifest is for event {header.event_id}, not {settings.event_id}"
            )
        conflict = self._zone_conflict(header)
        if conflict is not None:
            raise DaemonError(conflict)
        try:
            self.journal = Journal(
                settings.database_path,
                sync=settings.journal_sync,
                flush_interval_s=settings.journal_flush_ms / 1000,
            )
        except JournalError as error:
            raise DaemonError(str(error)) from None
        self._open_conflicts()
        now = self.clock_ms()
        state = GateState(self.journal.load_history(), self.journal.load_nonces(now))
        self.decider = GateDecider(self._context(header), self.manifest, state)
        self._open_mesh(header, state)
        self.overrides = OverrideBook(settings.database_path, clock_ms=self.clock_ms)
        self.decider.stale_override = self.overrides.latest
        if settings.backend:
            self.link = BackendLink(
                settings,
                self.identity,
                self.journal,
                self.manifest,
                self.alerts,
                clock_ms=self.clock_ms,
                on_manifest=self._manifest_changed,
            )
            self.link.conflict_journal = self.conflicts
        online = self.link if settings.mode is ScanMode.ONLINE_FIRST else None
        # A restarted daemon carries on counting: the supervisor sees the whole event.
        journaled = self.journal.counts_by_scanner()
        bad_reads = self.journal.bad_read_counts_by_scanner()
        for scanner in settings.scanner:
            driver = self._given_drivers.get(scanner.name) or build_driver(scanner, self)
            lane = Lane(scanner.name, scanner.gate, scanner.direction, scanner.zone)
            self.lanes.append(
                LaneRunner(
                    driver,
                    lane,
                    self.decider,
                    self.journal,
                    self.bus,
                    clock_ms=self.clock_ms,
                    on_decision=self._on_decision,
                    alerts=self.alerts,
                    online=online,
                    stats=LaneStats.from_journal(
                        journaled.get(scanner.name, {}), bad_reads.get(scanner.name)
                    ),
                    latency=self.metrics.lane_recorder(scanner.gate),
                )
            )

        address = settings.metrics_address
        if address is not None:
            try:
                self._scrape = MetricsListener(self.metrics.render, *address)
            except OSError as error:
                raise DaemonError(
                    f"metrics_listen {settings.metrics_listen}: {error.strerror or error}"
                ) from None

        # The manifest and histories are long-lived: keep them out of every future
        # garbage collection, whose full passes would otherwise stall the lanes.
        gc.collect()
        gc.freeze()

    def _open_mesh(self, header: ManifestHeader, state: GateState) -> None:
        mesh = self.settings.mesh
        if mesh is None or not mesh.enabled:
            return
        assert self.decider is not None and self.journal is not None
        decider = self.decider
        try:
            self.mesh = build_node(
                mesh,
                header=header,
                keys=self.identity.keys,
                event_keys=decider.context.event_keys,
                database=self.settings.database_path,
                state=state,
                policy=lambda: decider.context.policy,
                conflicts=self.conflicts,
                clock_ms=self.clock_ms,
            )
            self.mesh.bind()
        except MeshError as error:
            raise DaemonError(str(error)) from None
        except OSError as error:
            raise DaemonError(
                f"the gate mesh cannot listen on {mesh.listen}: {error.strerror}"
            ) from None
        self.journal.on_commit = self.mesh.on_journaled
        self.metrics.add(MeshCollector(self.mesh))

    async def _start_mesh(self) -> None:
        mesh, settings = self.mesh, self.settings.mesh
        if mesh is None or settings is None:
            return
        await mesh.start()
        if settings.discovery is MeshDiscovery.MDNS:
            # zeroconf is imported only where discovery is on: ~100 ms of start-up.
            from scanctl.daemon.mesh.discovery import Discovery

            discovery = Discovery(
                event_id=mesh.codec.event_id,
                device_id=mesh.codec.device_id,
                listen=mesh.listen,
                on_found=lambda address, _device: mesh.add_peer(address, "mdns"),
                accept=mesh.codec.knows,
            )
            try:
                await discovery.start()
            except Exception as error:  # static peers still work without multicast
                log.warning("gate mesh: mDNS discovery is unavailable here: %s", error)
                await discovery.close()
            else:
                self._discovery = discovery

    def _open_conflicts(self) -> None:
        """Alerts and conflicts live in the journal's file: both survive a restart."""
        path = self.settings.database_path
        self._alert_store = AlertStore(path)
        self.alerts.attach(self._alert_store)
        self.conflicts = ConflictJournal(
            path,
            device_id=self.identity.device_id,
            bus=self.bus,
            alerts=self.alerts,
            clock_ms=self.clock_ms,
        )

    def _close_conflicts(self) -> None:
        if self.conflicts is not None:
            self.conflicts.close()
            self._alert_store.close()

    def _context(self, header: ManifestHeader) -> GateContext:
        if header.device_id != self.identity.device_id:
            raise DaemonError(
                f"the held manifest was issued to device {header.device_id}, "
                f"this is device {self.identity.device_id}"
            )
        try:
            keys = tuple(open_event_keys(header, self.identity.keys.exchange))
        except SealError as error:
            raise DaemonError(f"cannot open the manifest's event key: {error}") from None
        return GateContext(
            header.event,
            header.policy,
            keys,
            self.identity.device_id,
            header.issued_at_ms,
            self._device_zone(header),
        )

    def _device_zone(self, header: ManifestHeader) -> str | None:
        """The zone the device is registered to: the signed manifest's word, else the one
        device.json kept at registration (manifests from older backends do not say)."""
        return header.device_zone or self.identity.zone

    def _zone_conflict(self, header: ManifestHeader) -> str | None:
        """Why some lanes cannot scan on this device (one line), or None when all can."""
        device_zone = self._device_zone(header)
        problems = [
            f"scanner {scanner.name!r}: {why}"
            for scanner in self.settings.scanner
            if (why := lane_zone_conflict(device_zone, scanner.zone)) is not None
        ]
        return "; ".join(problems) or None

    # -- what simulated scanners need (driver_factory.DriverHost) --------------------

    def event_key(self) -> bytes:
        assert self.decider is not None
        return self.decider.context.event_keys[0]

    def ticket_ids(self, status: TicketStatus) -> list[str]:
        assert self.manifest is not None
        return self.manifest.ticket_ids(status)

    def tickets_inside(self) -> list[str]:
        assert self.decider is not None
        return self.decider.state.inside()

    def simulated_lane(self, scanner: ScannerSettings) -> tuple[int, int]:
        simulated = [s.name for s in self.settings.scanner if s.driver is DriverKind.SIMULATED]
        return simulated.index(scanner.name), len(simulated)

    def _manifest_changed(self) -> None:
        """A refreshed manifest may bring a new policy, keys or device zone: decide with
        them at once, or stop (exit 2, as at start) when the lanes contradict the zone."""
        assert self.manifest is not None and self.decider is not None
        header = self.manifest.header
        if header is None:
            return
        conflict = self._zone_conflict(header)
        if conflict is not None:
            log.error("the refreshed manifest refuses this gate.toml: %s", conflict)
            self.failure = conflict
            self.request_stop()
            return
        self.decider.replace_context(self._context(header))
        if self.mesh is not None:
            self.mesh.codec.refresh(
                mesh_keys(header, self.decider.context.event_keys), peer_keys(header)
            )
            self.mesh.names = {peer.device_id: peer.name for peer in header.peers}

    def request_stop(self) -> None:
        """Begin the graceful drain (idempotent)."""
        self.draining = True
        self._stop.set()

    async def run(self) -> None:
        """Serve until asked to stop, then drain; see the module docstring."""
        if self.journal is None:
            self.open()
        assert self.journal is not None and self.manifest is not None
        loop = asyncio.get_running_loop()
        await self._start_mesh()
        self._install_signal_handlers(loop)
        api = LocalApi(self, self.settings.socket_path)
        api_task = asyncio.create_task(api.serve(), name="local-api")
        scrape = self._scrape
        scrape_task = (
            None if scrape is None else asyncio.create_task(scrape.serve(), name="metrics-tcp")
        )
        lane_tasks = [
            asyncio.create_task(lane.run(), name=f"lane-{lane.lane.scanner}") for lane in self.lanes
        ]
        # Supervised: a failure raises an alert and the task runs again (never a quiet end).
        housekeeping = self._supervised("housekeeping", self._housekeeping)
        link, overrides = self.link, self.overrides
        syncing = self._supervised("sync", link.run) if link else None
        reporting = (
            self._supervised(
                "overrides",
                lambda: upload_overrides(
                    overrides, link.client, self.identity.device_id, clock_ms=self.clock_ms
                ),
            )
            if link and overrides
            else None
        )
        self.bus.publish({"type": "state", "state": "running", "at_ms": self.clock_ms()})
        notifier = Notifier()
        notifier.ready(f"{len(self.lanes)} scanner(s), socket {api.path}")
        watchdog = (
            asyncio.create_task(self._watchdog(notifier), name="watchdog")
            if notifier.watchdog_interval_s
            else None
        )
        header = self.manifest.header
        log.info(
            "daemon running: %d scanner(s), socket %s",
            len(self.lanes),
            api.path,
            extra={
                "version": __version__,
                "device_id": self.identity.device_id,
                "event_id": self.settings.event_id,
                "mode": self.settings.mode.value,
                "journal_sync": self.settings.journal_sync.value,
                "manifest_sequence": None if header is None else header.sequence,
                "metrics_listen": self.settings.metrics_listen,
            },
        )
        try:
            await self._stop.wait()
        finally:
            self.draining = True
            notifier.stopping()
            self.bus.publish({"type": "state", "state": "draining", "at_ms": self.clock_ms()})
            housekeeping.cancel()
            if watchdog is not None:
                watchdog.cancel()
            if syncing is not None:
                syncing.cancel()
            if reporting is not None:
                reporting.cancel()
            for lane in self.lanes:
                lane.stop()
            done, pending = await asyncio.wait(lane_tasks, timeout=DRAIN_TIMEOUT_S)
            for task in pending:
                task.cancel()
            for task in done:
                if task.exception() is not None:
                    log.error("lane ended with an error", exc_info=task.exception())
            if self.link is not None and syncing is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await syncing
                await self.link.aclose()
            if self._discovery is not None:
                await self._discovery.close()
            if self.mesh is not None:
                self.mesh.close()
            self.journal.close()
            self._close_conflicts()
            if self.overrides is not None:
                self.overrides.close()
            self.manifest.close()
            api.stop()
            if scrape is not None and scrape_task is not None:
                scrape.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await scrape_task
            with contextlib.suppress(asyncio.CancelledError):
                await api_task
            with contextlib.suppress(FileNotFoundError):
                api.path.unlink()
            log.info("daemon stopped")

    def _supervised(
        self, name: str, work: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        return asyncio.create_task(supervise(name, work, self.alerts), name=name)

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        def on_signal(signum: int) -> None:
            if self.draining and signum == signal.SIGINT:
                log.warning("second interrupt: exiting without finishing the drain")
                os._exit(130)
            log.info("received %s: draining", signal.Signals(signum).name)
            self.request_stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)

    async def _watchdog(self, notifier: Notifier) -> None:
        """Ping systemd's watchdog while the event loop is alive (a hung loop stops it)."""
        assert notifier.watchdog_interval_s is not None
        while True:
            notifier.watchdog()
            await asyncio.sleep(notifier.watchdog_interval_s)

    async def _housekeeping(self) -> None:
        """Once a second: alerts that come from state rather than from one decision."""
        for tick in itertools.count(1):
            await asyncio.sleep(WATCH_S)
            now = self.clock_ms()
            self._watch(now)
            if tick % NONCE_GC_EVERY == 0:
                assert self.decider is not None and self.journal is not None
                self.decider.state.forget_expired_nonces(now)
                await asyncio.to_thread(self.journal.forget_nonces, now)

    def _watch(self, now: int) -> None:
        assert self.manifest is not None and self.journal is not None
        alerts = self.alerts
        for lane in self.lanes:
            name = lane.lane.scanner
            if getattr(lane.driver, "connected", True):
                alerts.clear(AlertKind.SCANNER_DISCONNECTED, name)
            else:
                alerts.raise_alert(
                    AlertKind.SCANNER_DISCONNECTED,
                    name,
                    f"scanner {name} at gate {lane.lane.gate} is disconnected",
                    severity=Severity.CRITICAL,
                    gate=lane.lane.gate,
                    scanner=name,
                )
            if self._forgeries.quiet(name, now):
                alerts.clear(AlertKind.FORGERY_BURST, name)
            if self._replays.quiet(lane.lane.gate, now):
                alerts.clear(AlertKind.REPLAY_BURST, lane.lane.gate)
        assert self.decider is not None and self.overrides is not None
        watch_manifest(
            alerts,
            self.manifest.valid_until_ms,
            now,
            self.decider.context.policy,
            self.overrides.latest,
        )
        if self.mesh is not None:
            watch_mesh(self.alerts, self.mesh, now)
        unsent = self.journal.unsent_count() if self.settings.backend else 0
        if unsent >= OUTBOX_ALERT_DEPTH:
            alerts.raise_alert(
                AlertKind.OUTBOX_GROWING, "outbox", f"{unsent} scans wait to reach the backend"
            )
        else:
            alerts.clear(AlertKind.OUTBOX_GROWING, "outbox")

    def _on_decision(self, event: dict[str, Any]) -> None:
        gate, scanner, at_ms = event["gate"], event["scanner"], event["at_ms"]
        self.throughput.record(gate, at_ms)
        reason = event["reason"]
        if reason == Reason.QR_ALREADY_USED and self._replays.add(gate, at_ms):
            self.alerts.raise_alert(
                AlertKind.REPLAY_BURST,
                gate,
                f"replayed codes at gate {gate}: someone may be passing a screenshot around",
                gate=gate,
            )
        elif reason == Reason.INVALID and self._forgeries.add(scanner, at_ms):
            self.alerts.raise_alert(
                AlertKind.FORGERY_BURST,
                scanner,
                f"a burst of invalid codes at scanner {scanner}",
                severity=Severity.CRITICAL,
                gate=gate,
                scanner=scanner,
            )

    def list_alerts(self) -> list[dict[str, Any]]:
        return self.alerts.listing()

    def acknowledge_alert(self, alert_id: str, by: str = "local-api") -> bool:
        return self.alerts.acknowledge(alert_id, by)

    def list_conflicts(self) -> list[dict[str, Any]]:
        assert self.conflicts is not None
        return self.conflicts.listing()

    def acknowledge_conflict(self, conflict_id: str, by: str) -> dict[str, Any] | None:
        assert self.conflicts is not None
        return self.conflicts.acknowledge(conflict_id, by)

    # -- what the local API shows ----------------------------------------------------

    def set_paused(self, gate: str, paused: bool) -> bool:
        lanes = [lane for lane in self.lanes if lane.lane.gate == gate]
        if not lanes:
            return False
        for lane in lanes:
            lane.paused = paused
        (self._paused.add if paused else self._paused.discard)(gate)
        self.bus.publish({"type": "gate", "gate": gate, "paused": paused, "at_ms": self.clock_ms()})
        return True

    def status(self) -> dict[str, Any]:
        assert self.journal is not None and self.manifest is not None
        now = self.clock_ms()
        return {
            "device_id": self.identity.device_id,
            "event_id": self.settings.event_id,
            "mode": self.settings.mode.value,
            "state": "draining" if self.draining else "running",
            "pid": os.getpid(),
            "started_at_ms": self.started_at_ms,
            "uptime_s": round((now - self.started_at_ms) / 1000, 1),
            "manifest": self.manifest.summary(now),
            "override": self.override_status(now),
            "journal": {"scans": self.journal.count(), "unsent": self.journal.unsent_count()},
            "link": self.link.status() if self.link else {"backend": None, "online": False},
            "totals": self._totals(),
            "conflicts": self.conflicts.counts() if self.conflicts else {},
            "mesh": self._mesh_status(),
            "scanners": [{"gate": lane.lane.gate, **_scanner_view(lane)} for lane in self.lanes],
            "events": {"published": self.bus.published, "listeners": self.bus.listeners},
        }

    def _mesh_status(self) -> dict[str, Any] | None:
        if self.mesh is None:
            return None
        discovery = self._discovery
        return {
            **self.mesh.status(),
            "discovery": "mdns" if discovery is not None else "off",
            "discovered": discovery.found if discovery is not None else 0,
        }

    # -- supervisors' overrides of an expired manifest (see daemon.overrides) ---------

    def override_status(self, now: int | None = None) -> dict[str, Any] | None:
        """The latest override, with whether it is in force now (None: never one)."""
        record = None if self.overrides is None else self.overrides.latest_record()
        return None if record is None else record.as_dict(self.clock_ms() if now is None else now)

    def list_overrides(self) -> list[dict[str, Any]]:
        assert self.overrides is not None
        now = self.clock_ms()
        return [record.as_dict(now) for record in self.overrides.history()]

    def apply_override(
        self,
        action: StaleManifestAction | None,
        *,
        by: str,
        until_ms: int | None = None,
        extend_minutes: int | None = None,
        note: str = "",
    ) -> dict[str, Any]:
        """Journal a supervisor's override and decide with it from the next read on.
        ``extend_minutes`` (admit with a warning until the manifest's end plus that)
        stands in for ``until_ms``. Raises OverrideError for one the daemon refuses."""
        assert self.overrides is not None and self.decider is not None
        assert self.manifest is not None
        valid_until = self.manifest.valid_until_ms
        if extend_minutes is not None:
            action = StaleManifestAction.ADMIT_WITH_WARNING
            until_ms = extended_until_ms(valid_until, self.clock_ms(), extend_minutes)
            note = note or f"validity extended by {extend_minutes} min"
        record = self.overrides.apply(
            action, until_ms=until_ms, by=by, note=note, manifest_valid_until_ms=valid_until
        )
        self.decider.stale_override = record.override
        view = record.as_dict(self.clock_ms())
        log.warning("stale-manifest override by %s: %s", record.override.by, view)
        self.bus.publish({"type": "override", **view})
        self._watch(self.clock_ms())  # the stale alert says what gates do now, at once
        return view

    def gates(self) -> list[dict[str, Any]]:
        now = self.clock_ms()
        by_gate: dict[str, list[LaneRunner]] = {}
        for lane in self.lanes:
            by_gate.setdefault(lane.lane.gate, []).append(lane)
        gates = []
        for gate, lanes in by_gate.items():
            last = max(
                (lane.stats.last for lane in lanes if lane.stats.last),
                key=lambda event: event["at_ms"],
                default=None,
            )
            reasons: dict[str, int] = {}
            for lane in lanes:
                for reason, count in lane.stats.reasons.items():
                    reasons[reason] = reasons.get(reason, 0) + count
            gates.append(
                {
                    "gate": gate,
                    "paused": gate in self._paused,
                    "admitted": sum(lane.stats.admitted for lane in lanes),
                    "denied": sum(lane.stats.denied for lane in lanes),
                    "reasons": reasons,
                    "per_minute_now": self.throughput.last_minute(gate, now),
                    "per_minute_15": self.throughput.per_minute(gate, now),
                    "last": last,
                    "scanners": [_scanner_view(lane) for lane in lanes],
                }
            )
        return gates

    def _totals(self) -> dict[str, Any]:
        assert self.decider is not None and self.manifest is not None
        admitted = sum(lane.stats.admitted for lane in self.lanes)
        denied = sum(lane.stats.denied for lane in self.lanes)
        state = self.decider.state
        zone_of_gate = {lane.lane.gate: lane.lane.zone or "" for lane in self.lanes}
        inside: dict[str, int] = {}
        for gate, count in state.inside_by_gate.items():
            if count:
                zone = zone_of_gate.get(gate, "")
                inside[zone] = inside.get(zone, 0) + count
        entered = len(state.entered)
        tickets = len(self.manifest)
        return {
            "admitted": admitted,
            "denied": denied,
            "inside": inside,
            "tickets_in": entered,
            "manifest_tickets": tickets,
            "share_in": round(entered / tickets, 4) if tickets else 0.0,
        }

    def scans(
        self, limit: int, gate: str | None, reason: str | None, ticket: str | None
    ) -> list[dict[str, Any]]:
        assert self.journal is not None
        return self.journal.recent(limit, gate=gate, reason=reason, ticket=ticket)

    def metrics_text(self) -> str:
        return self.metrics.render().decode("utf-8")

    # -- what the metrics read (daemon.metrics.GateSource) -----------------------------

    def metric_lanes(self) -> list[LaneRunner]:
        return list(self.lanes)

    def outbox_states(self) -> dict[str, int]:
        return {} if self.journal is None else self.journal.outbox_states()

    def manifest_facts(self, now_ms: int) -> dict[str, Any]:
        header = None if self.manifest is None else self.manifest.header
        if header is None or self.manifest is None:
            return {"held": False}
        return {
            "held": True,
            "age_ms": header.age_ms(now_ms),
            "valid_until_ms": header.valid_until_ms,
            "stale": header.is_expired(now_ms),
            "sequence": header.sequence,
            "tickets": len(self.manifest),
        }

    def link_facts(self) -> dict[str, Any] | None:
        return None if self.link is None else self.link.status()

    def conflict_counts(self) -> dict[str, int]:
        return {} if self.conflicts is None else self.conflicts.counts()

    def active_alerts(self) -> dict[str, int]:
        return self.alerts.active_counts()

    def uptime_s(self) -> float:
        return (self.clock_ms() - self.started_at_ms) / 1000


def _scanner_view(lane: LaneRunner) -> dict[str, Any]:
    """One lane's scanner as /status and /gates show it: link, driver counters, bad reads."""
    return {
        "name": lane.lane.scanner,
        "direction": lane.lane.direction.value,
        "zone": lane.lane.zone,
        "counters": lane.driver.counters.snapshot(),
        "bad_reads": dict(lane.stats.bad_reads),
        "paused_reads": lane.stats.paused_reads,
        "connected": bool(getattr(lane.driver, "connected", True)),
    }
