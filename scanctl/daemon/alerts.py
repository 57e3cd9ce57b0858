"""Alerts a door supervisor must see: raised once, cleared when the cause is gone, acked.

An alert has a kind (what), a key (where: a gate, a scanner, or the daemon) and stays
one alert while its cause lasts, however often the cause repeats. Every change is
published on the event bus; acknowledging keeps it listed but quiet. With a store
(`alert_store.AlertStore`, in the journal's file) every change is saved too, and the
alerts nobody acknowledged are back after a restart.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from scanctl.daemon.events import EventBus
from scanctl.daemon.windows import SlidingWindows

if TYPE_CHECKING:
    from scanctl.daemon.alert_store import AlertStore

__all__ = ["Alert", "AlertBook", "AlertKind", "BurstDetector", "Severity"]

log = logging.getLogger(__name__)


class AlertKind(StrEnum):
    REPLAY_BURST = "replay_burst"
    FORGERY_BURST = "forgery_burst"
    SCANNER_DISCONNECTED = "scanner_disconnected"
    BACKEND_UNREACHABLE = "backend_unreachable"
    MANIFEST_STALE = "manifest_stale"
    MANIFEST_EXPIRING = "manifest_expiring"
    OUTBOX_GROWING = "outbox_growing"
    RECONCILE_CONFLICT = "reconcile_conflict"
    JOURNAL_FAILED = "journal_failed"
    MANIFEST_REFUSED = "manifest_refused"
    TASK_FAILED = "task_failed"
    MESH_PEER_LOST = "mesh_peer_lost"
    MESH_HOSTILE = "mesh_hostile"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def log_level(self) -> int:
        """The level an alert of this severity is logged at."""
        return logging.CRITICAL if self is Severity.CRITICAL else logging.WARNING


@dataclass
class Alert:
    id: str
    kind: AlertKind
    severity: Severity
    message: str
    at_ms: int
    gate: str | None = None
    scanner: str | None = None
    active: bool = True
    acknowledged: bool = False
    acked_by: str | None = None
    """Who acknowledged it (``tui:<user>``, ``cli:<user>``, ``local-api``)."""
    acked_at_ms: int | None = None
    cleared_at_ms: int | None = None
    """When its cause went away by itself (it stays listed until acknowledged)."""

    def as_event(self) -> dict[str, Any]:
        return {"type": "alert", **asdict(self)}


class AlertBook:
    """The daemon's alerts, keyed by (kind, key)."""

    def __init__(self, bus: EventBus, clock_ms: Callable[[], int], keep: int = 200) -> None:
        self._bus = bus
        self._clock_ms = clock_ms
        self._keep = keep
        self._by_key: dict[tuple[AlertKind, str], Alert] = {}
        self._ids = itertools.count(1)
        self._store: AlertStore | None = None

    def attach(self, store: AlertStore) -> None:
        """Save every change in ``store`` from now on, and take back the alerts nobody
        acknowledged before the restart (the current ones win over saved ones)."""
        self._store = store
        last = 0
        for kind, key, saved in store.unacknowledged():
            fields = {k: v for k, v in saved.items() if k != "type"}
            alert = Alert(**fields)
            alert.kind, alert.severity = AlertKind(kind), Severity(alert.severity)
            self._by_key.setdefault((alert.kind, key), alert)
            suffix = alert.id.rsplit("-", 1)[-1]
            last = max(last, int(suffix) if suffix.isdigit() else 0)
        self._ids = itertools.count(last + 1)
        for (kind_, key), alert in self._by_key.items():
            self._save(kind_, key, alert)

    def _save(self, kind: AlertKind, key: str, alert: Alert) -> None:
        if self._store is not None:
            self._store.save(kind.value, key, alert.as_event())

    def raise_alert(
        self,
        kind: AlertKind,
        key: str,
        message: str,
        *,
        severity: Severity = Severity.WARNING,
        gate: str | None = None,
        scanner: str | None = None,
    ) -> Alert:
        """Raise (or keep) the alert for this cause; a repeat only refreshes the message."""
        current = self._by_key.get((kind, key))
        if current is not None and current.active:
            if current.message != message:
                current.message = message
                self._save(kind, key, current)
            return current
        alert = Alert(
            f"{kind.value}-{next(self._ids)}",
            kind,
            severity,
            message,
            self._clock_ms(),
            gate,
            scanner,
        )
        self._by_key[(kind, key)] = alert
        self._save(kind, key, alert)
        self._trim()
        self._bus.publish(alert.as_event())
        log.log(severity.log_level, "alert: %s", message, extra=_fields(alert))
        return alert

    def clear(self, kind: AlertKind, key: str) -> None:
        """The cause is gone: the alert stays listed as inactive."""
        alert = self._by_key.get((kind, key))
        if alert is not None and alert.active:
            alert.active = False
            alert.cleared_at_ms = self._clock_ms()
            self._save(kind, key, alert)
            self._bus.publish(alert.as_event())
            log.info("alert cleared: %s", alert.message, extra=_fields(alert))

    def acknowledge(self, alert_id: str, by: str = "local-api") -> bool:
        for (kind, key), alert in self._by_key.items():
            if alert.id == alert_id:
                if not alert.acknowledged:  # the first acknowledgement is the one kept
                    alert.acknowledged = True
                    alert.acked_by, alert.acked_at_ms = by, self._clock_ms()
                self._save(kind, key, alert)
                self._bus.publish(alert.as_event())
                return True
        return False

    def active_counts(self) -> dict[str, int]:
        """Active alerts by kind (metrics)."""
        counts = dict.fromkeys((kind.value for kind in AlertKind), 0)
        for alert in list(self._by_key.values()):
            if alert.active:
                counts[alert.kind.value] += 1
        return counts

    def listing(self) -> list[dict[str, Any]]:
        """Active first, newest first."""
        alerts = sorted(self._by_key.values(), key=lambda a: (not a.active, -a.at_ms))
        return [alert.as_event() for alert in alerts]

    def _trim(self) -> None:
        if len(self._by_key) <= self._keep:
            return
        # Cleared and acknowledged alerts go first: one that cleared by itself before
        # anyone saw it stays listed as long as there is room.
        inactive = sorted(
            (key for key, alert in self._by_key.items() if not alert.active),
            key=lambda key: (not self._by_key[key].acknowledged, self._by_key[key].at_ms),
        )
        for key in inactive[: len(self._by_key) - self._keep]:
            del self._by_key[key]
            if self._store is not None:
                self._store.forget(key[0].value, key[1])


def _fields(alert: Alert) -> dict[str, Any]:
    fields: dict[str, Any] = {"alert_id": alert.id, "kind": alert.kind.value}
    fields["severity"] = alert.severity.value
    if alert.gate is not None:
        fields["gate"] = alert.gate
    if alert.scanner is not None:
        fields["scanner"] = alert.scanner
    return fields


class BurstDetector:
    """Says when ``threshold`` events for one key fall within ``window_ms``."""

    def __init__(self, threshold: int, window_ms: int) -> None:
        self.threshold = threshold
        self.window_ms = window_ms
        self._windows = SlidingWindows(window_ms)

    def add(self, key: str, at_ms: int) -> bool:
        return self._windows.add(key, at_ms) >= self.threshold

    def quiet(self, key: str, now_ms: int) -> bool:
        """No event for this key within the window: the burst is over."""
        latest = self._windows.latest(key)
        return latest is None or latest <= now_ms - self.window_ms
