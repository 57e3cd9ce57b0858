"""The daemon's link to the backend: outbox pushes, manifest refreshes, online decisions.

Everything here is best effort and never on the door's critical path: the gate decides
offline whenever the backend is slow, failing or gone. The outbox pushes journaled
scans in batches to ``/api/offline/reconcile`` (idempotent on each scan id, so a retry
after a lost answer doubles nothing) and marks them sent only after a 2xx. Manifest
deltas are pulled on a schedule and as soon as the backend answers again. Conflicts
that involve this gate's scans are asked for after every push, after reconnecting and
every ``conflict_check_s`` (another gate's later upload makes one with an earlier scan
of ours), and kept in the journal (`daemon.conflicts`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from scanctl.client import (
    NO_RETRY,
    ApiError,
    AsyncScanctlClient,
    AuthError,
    BreakerState,
    CircuitBreaker,
    ClientError,
    DeviceAuth,
    Unreachable,
)
from scanctl.core import Decision, iso_ms
from scanctl.daemon.alerts import AlertBook, AlertKind, Severity
from scanctl.daemon.config import DaemonSettings
from scanctl.daemon.conflicts import ConflictJournal
from scanctl.daemon.decider import Read
from scanctl.daemon.identity import DeviceIdentity
from scanctl.daemon.journal import Journal, OutboxRow
from scanctl.daemon.manifest_refresh import ManifestRefresh
from scanctl.manifests import DeltaBaseMismatch, ManifestRefused, ManifestStore, SealError

__all__ = ["BackendLink", "outbox_payload", "sent_statuses"]

log = logging.getLogger(__name__)

UNREACHABLE_ALERT_S = 60
MAX_BACKOFF_S = 10.0
REFUSED_RETRY_MS = 30_000
"""A refused manifest is asked for again this soon (the backend may have fixed it)."""


def outbox_payload(row: OutboxRow) -> dict[str, Any]:
    """One journaled scan as the reconcile endpoint takes it."""
    return {
        "id": row.scan_id,
        "qrData": row.raw.decode("utf-8", errors="replace"),
        "ticketId": row.ticket_id,
        "allowed": row.allowed,
        "reason": row.reason.value,
        "gate": row.gate,
        "scanner": row.scanner,
        "direction": row.direction.value,
        "scannedAt": iso_ms(row.scanned_at_ms),
        "decidedBy": row.decided_by,
        "warning": row.warning,
    }


def sent_statuses(rows: Sequence[OutboxRow], answer: Mapping[str, Any]) -> dict[str, str]:
    """Scan id -> the backend's answer for each row of a batch it took (2xx): every row
    is sent, answered or not ("accepted" when the answer does not name it). One reading
    of the reconcile answer for the daemon's outbox and `scanctl reconcile push`."""
    wanted = {row.scan_id for row in rows}
    statuses: dict[str, str] = {}
    for item in answer.get("results", []):
        if isinstance(item, dict) and str(item.get("id")) in wanted:
            statuses[str(item["id"])] = str(item.get("status", "accepted"))
    return {scan_id: statuses.get(scan_id, "accepted") for scan_id in wanted}


class BackendLink:
    """Owns the async client and the breaker; reports its state for /status and the TUI."""

    def __init__(
        self,
        settings: DaemonSettings,
        identity: DeviceIdentity,
        journal: Journal,
        manifest: ManifestStore,
        alerts: AlertBook,
        *,
        clock_ms: Callable[[], int],
        on_manifest: Callable[[], None],
    ) -> None:
        assert settings.backend is not None
        self.settings = settings
        self.identity = identity
        self.journal = journal
        self.manifest = manifest
        self.alerts = alerts
        self.clock_ms = clock_ms
        self.on_manifest = on_manifest
        self.breaker = CircuitBreaker()
        auth = DeviceAuth(
            identity.device_id, identity.tenant_id, identity.venue_id, identity.keys.signing
        )
        # No retries inside calls: run() has its own back-off with jitter, and the scan
        # deadline leaves no room for a second try anyway.
        self.client = AsyncScanctlClient(
            settings.backend, auth, breaker=self.breaker, retry=NO_RETRY
        )
        self.refresh = ManifestRefresh(manifest, identity, settings.event_id)
        self.manifest_refusals = 0
        self.online = False
        self.last_contact_ms: int | None = None
        self.last_sync_ms: int | None = None
        self.last_error: str | None = None
        self.conflicts = 0
        self._offline_since_ms: int | None = clock_ms()
        self.conflict_journal: ConflictJournal | None = None
        """Where reported conflicts go (set by the daemon); None: not asked for."""
        self._conflicts_due = True
        self.last_conflict_check_ms: int | None = None

    # -- state -----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        breaker = self.breaker.snapshot()
        return {
            "backend": self.settings.backend,
            "online": self.online,
            "circuit": str(breaker.state),
            "last_contact_ms": self.last_contact_ms,
            "last_sync_ms": self.last_sync_ms,
            "last_error": self.last_error,
            "conflicts": self.conflicts,
            "last_conflict_check_ms": self.last_conflict_check_ms,
        }

    def _reached(self) -> None:
        was_offline = not self.online
        self.online = True
        self.last_contact_ms = self.clock_ms()
        self._offline_since_ms = None
        self.last_error = None
        self.alerts.clear(AlertKind.BACKEND_UNREACHABLE, "backend")
        if was_offline:
            log.info("backend reachable again")
            self._conflicts_due = True  # what the other gates uploaded meanwhile

    def _failed(self, error: Exception) -> None:
        now = self.clock_ms()
        if self.online:
            log.warning("backend unreachable: %s", error)
        self.online = False
        self.last_error = str(error)
        self._offline_since_ms = self._offline_since_ms or now
        if now - self._offline_since_ms >= UNREACHABLE_ALERT_S * 1000:
            self.alerts.raise_alert(
                AlertKind.BACKEND_UNREACHABLE,
                "backend",
                f"backend unreachable for {(now - self._offline_since_ms) // 1000} s: "
                "gates decide offline",
                severity=Severity.WARNING,
            )

    # -- online decisions ------------------------------------------------------------

    async def decide(self, read: Read) -> Decision | None:
        """The backend's decision within the deadline, or None to decide offline.

        The request names the read (its scan id, lane and read time), so the backend
        stores it once even when its answer comes too late and the gate journals its
        own decision of the same read under the same id.
        """
        if self.breaker.snapshot().state is BreakerState.OPEN:
            return None
        lane = read.lane
        try:
            result = await self.client.scan(
                read.raw.payload.decode("utf-8", errors="replace"),
                self.settings.event_id,
                self.identity.device_id,
                scan_id=read.scan_id,
                lane=lane.scanner,
                timestamp=iso_ms(read.read_ms),
                gate=lane.gate,
                direction=lane.direction.value,
                zone=lane.zone,
                deadline=self.settings.online_deadline_ms / 1000,
            )
        except (ClientError, ValueError) as error:
            if isinstance(error, Unreachable):
                self._failed(error)
            return None
        self._reached()
        try:
            return result.wire_decision().decision
        except ValueError as error:
            # Not a decision this gate can apply (a newer backend's reason, a broken
            # body): the local rules decide instead.
            log.warning("backend answer for scan %s not applied: %s", read.scan_id, error)
            return None

    # -- background work -------------------------------------------------------------

    async def run(self) -> None:
        """Push the outbox continuously and refresh the manifest on schedule.

        The two never hold each other up: a manifest that is refused (tampered, for
        another device, its key does not open) raises an alert and is tried again
        later, while the journal's scans keep flowing to the backend.
        """
        refresh_every = self.settings.manifest_refresh_s * 1000
        next_refresh = 0
        backoff = 1.0
        while True:
            now = self.clock_ms()
            try:
                if now >= next_refresh or not self.online:
                    next_refresh = now + await self._refresh_or_alert(refresh_every)
                pushed = await self.push_outbox()
                await self._check_conflicts_when_due(pushed > 0)
                backoff = 1.0
                if pushed == 0:
                    await asyncio.sleep(1.0)
            except Unreachable as error:
                self._failed(error)
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            except ApiError as error:
                log.error("backend sync failed: %s", error)
                self.last_error = str(error)
                if isinstance(error, AuthError):
                    self.alerts.raise_alert(
                        AlertKind.BACKEND_UNREACHABLE,
                        "backend",
                        f"the backend refuses this device: {error}",
                        severity=Severity.CRITICAL,
                    )
                await asyncio.sleep(min(backoff * 5, 60.0))
                backoff = min(backoff * 2, 30.0)

    async def _refresh_or_alert(self, refresh_every_ms: int) -> int:
        """Refresh the manifest; ms until the next try (sooner after a refusal)."""
        try:
            await self.refresh_manifest()
        except (ManifestRefused, SealError) as error:
            self.manifest_refusals += 1
            self.last_error = f"manifest refused: {error}"
            log.error("manifest refresh refused, the held one is kept: %s", error)
            self.alerts.raise_alert(
                AlertKind.MANIFEST_REFUSED,
                "manifest",
                f"manifest refresh refused ({error}); the held one is kept, scans still sync",
                severity=Severity.CRITICAL,
            )
            return min(refresh_every_ms, REFUSED_RETRY_MS)
        self.alerts.clear(AlertKind.MANIFEST_REFUSED, "manifest")
        return refresh_every_ms

    async def push_outbox(self) -> int:
        """Push one batch; returns how many scans the backend took."""
        rows = await asyncio.to_thread(self.journal.unsent, self.settings.outbox_batch)
        if not rows:
            return 0
        answer = await self.client.reconcile(
            self.identity.device_id, [outbox_payload(row) for row in rows]
        )
        self._reached()
        sent = sent_statuses(rows, answer)
        await asyncio.to_thread(self.journal.mark_sent, sent, self.clock_ms())
        self.last_sync_ms = self.clock_ms()
        conflicts = [scan_id for scan_id, status in sent.items() if status == "conflict"]
        self.conflicts += len(conflicts)
        if conflicts and self.conflict_journal is None:
            self.alerts.raise_alert(
                AlertKind.RECONCILE_CONFLICT,
                "reconcile",
                f"{self.conflicts} offline admission(s) conflict with other gates",
            )
        return len(rows)

    async def _check_conflicts_when_due(self, pushed: bool) -> None:
        """After a push, after reconnecting, and every ``conflict_check_s``."""
        if self.conflict_journal is None:
            return
        now = self.clock_ms()
        last = self.last_conflict_check_ms
        every_ms = self.settings.conflict_check_s * 1000
        if pushed or self._conflicts_due or last is None or now - last >= every_ms:
            try:
                await self.check_conflicts()
            except ApiError as error:
                if isinstance(error, AuthError):
                    raise
                # A backend without the route, or one that failed: ask again later,
                # never at the cost of the outbox.
                log.warning("asking for conflicts failed: %s", error)
                self._conflicts_due = False
                self.last_conflict_check_ms = now

    async def check_conflicts(self) -> list[dict[str, Any]]:
        """Ask the backend for the conflicts that involve this gate's scans and keep
        them; returns the ones not known before."""
        assert self.conflict_journal is not None
        found = await self.client.list_conflicts(self.settings.event_id)
        self._reached()
        self._conflicts_due = False
        self.last_conflict_check_ms = self.clock_ms()
        fresh = self.conflict_journal.record(c for c in found if isinstance(c, dict))
        for conflict in fresh:
            log.warning(
                "conflict %s: ticket %s (%s) at %s",
                conflict["id"],
                conflict["ticket_id"],
                conflict["kind"],
                ", ".join(conflict["gates"]),
            )
        return fresh

    async def refresh_manifest(self) -> None:
        """Pull a delta (or a full manifest) and apply it through the gate's one refresh
        (`ManifestRefresh`: verify, open the key, apply)."""
        held = self.manifest.sequence
        wire = await self.client.pull_manifest(
            self.settings.event_id, device_id=self.identity.device_id, since=self.refresh.since()
        )
        self._reached()
        try:
            await asyncio.to_thread(self.refresh.apply, wire, now_ms=self.clock_ms())
        except DeltaBaseMismatch:
            wire = await self.client.pull_manifest(
                self.settings.event_id, device_id=self.identity.device_id
            )
            await asyncio.to_thread(self.refresh.apply, wire, now_ms=self.clock_ms())
        if self.manifest.sequence != held:
            log.info("manifest refreshed: sequence %s -> %s", held, self.manifest.sequence)
            self.on_manifest()

    async def aclose(self) -> None:
        await self.client.aclose()
