"""What the supervisor sees, as plain data: snapshots replace it, events update it.

No widgets here. ``/gates`` and ``/status`` (read every second or so) are the truth;
decision events in between move the counters and the last decision at once, so the
screen is live at any rate, and the next snapshot corrects any drift.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from scanctl.tui.messages import LinkState, LinkUpdate

__all__ = ["LOG_KEEP", "Counts", "DoorState", "GateView", "scan_row_from_event"]

LOG_KEEP = 500


@dataclass(frozen=True)
class Counts:
    """The door's numbers as the overview shows them."""

    entries: int
    exits: int
    denied: int
    inside: dict[str, int]
    tickets_in: int
    manifest_tickets: int
    has_exits: bool
    inside_cap: int | None = None
    """A venue's entries less its exits: no more can be inside, whatever boxes say."""

    @property
    def inside_total(self) -> int:
        return sum(self.inside.values())

    @property
    def inside_capped(self) -> bool:
        """The boxes' own counts add up to more than can be inside (a ticket in at one
        box and out at another stays inside at the first)."""
        return self.inside_cap is not None and self.inside_total > self.inside_cap


@dataclass
class GateView:
    """One gate as the overview shows it."""

    name: str
    paused: bool = False
    admitted: int = 0
    denied: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    per_minute_now: int = 0
    per_minute_15: list[int] = field(default_factory=list)
    last: dict[str, Any] | None = None
    scanners: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> GateView:
        return cls(
            name=str(data["gate"]),
            paused=bool(data.get("paused", False)),
            admitted=int(data.get("admitted", 0)),
            denied=int(data.get("denied", 0)),
            reasons=dict(data.get("reasons") or {}),
            per_minute_now=int(data.get("per_minute_now", 0)),
            per_minute_15=[int(n) for n in data.get("per_minute_15") or []],
            last=data.get("last"),
            scanners=list(data.get("scanners") or []),
        )

    @property
    def exits(self) -> int:
        """Passes out (EXITED): the daemon counts them as admitted, a lane that opened."""
        return int(self.reasons.get("EXITED", 0))

    @property
    def entries(self) -> int:
        """Admissions in: first entries and re-entries, never the people leaving."""
        return max(0, self.admitted - self.exits)

    @property
    def has_exit_lane(self) -> bool:
        return self.exits > 0 or any(s.get("direction") == "exit" for s in self.scanners)

    def count(self, event: dict[str, Any]) -> None:
        if event.get("allowed"):
            self.admitted += 1
        else:
            self.denied += 1
        reason = str(event.get("reason", "?"))
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.last = event


def scan_row_from_event(event: dict[str, Any]) -> dict[str, Any]:
    """A decision event in the shape of a ``/scans`` row, for the live log."""
    return {
        "scan_id": event.get("scan_id"),
        "ticket_id": event.get("ticket_id"),
        "scanner": event.get("scanner"),
        "gate": event.get("gate"),
        "direction": event.get("direction"),
        "reason": event.get("reason"),
        "allowed": bool(event.get("allowed")),
        "decided_by": event.get("decided_by"),
        "scanned_at_ms": event.get("at_ms"),
        "recorded_at_ms": event.get("at_ms"),
        "sync_result": None,
    }


def bad_read_row(event: dict[str, Any]) -> dict[str, Any]:
    """A bad-read event (a read that could not be decided) as a row of the live log."""
    at_ms = event.get("at_ms")
    return {
        "scan_id": f"bad-read:{event.get('scanner')}:{at_ms}:{event.get('payload_sha256')}",
        "ticket_id": None,
        "scanner": event.get("scanner"),
        "gate": event.get("gate"),
        "direction": event.get("direction"),
        "reason": event.get("reason"),
        "allowed": False,
        "decided_by": "bad read",
        "scanned_at_ms": at_ms,
        "recorded_at_ms": at_ms,
        "sync_result": None,
    }


@dataclass
class DoorState:
    """Everything on screen, kept by the app and read by every screen."""

    box: str = ""
    """The gate computer's name (shown on every screen)."""
    status: dict[str, Any] = field(default_factory=dict)
    gates: dict[str, GateView] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Double entries reported to this gate, by their stable id."""
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_KEEP))
    events_seen: int = 0
    daemon_state: str = ""
    link: LinkUpdate = field(default_factory=lambda: LinkUpdate(LinkState.CONNECTING))
    _seeded: set[Any] = field(default_factory=set, repr=False)

    # -- updates ---------------------------------------------------------------------

    def apply_snapshot(
        self,
        status: dict[str, Any],
        gates: list[dict[str, Any]],
        alerts: list[dict[str, Any]],
        recent: list[dict[str, Any]] | None = None,
        conflicts: list[dict[str, Any]] | None = None,
    ) -> None:
        if conflicts is not None:
            self.conflicts = {str(c["id"]): c for c in conflicts if "id" in c}
        if recent is not None:
            self.recent.clear()
            self.recent.extend(recent)
            self._seeded = {row.get("scan_id") for row in recent}
        self.status = copy.deepcopy(status)  # events move its totals until the next one
        self.daemon_state = str(status.get("state", ""))
        self.gates = {view.name: view for view in map(GateView.from_api, gates)}
        for view in self.gates.values():
            if view.last is None:  # a restarted daemon: its journal still knows
                view.last = self._last_journaled(view.name)
        self.alerts = {str(alert["id"]): alert for alert in alerts if "id" in alert}

    def _last_journaled(self, gate: str) -> dict[str, Any] | None:
        """The latest decision at ``gate`` among the journal rows at hand, as an event."""
        for row in self.recent:
            if row.get("gate") == gate and row.get("decided_by") != "bad read":
                return {
                    "reason": row.get("reason"),
                    "allowed": row.get("allowed"),
                    "ticket_id": row.get("ticket_id"),
                    "scanner": row.get("scanner"),
                    "at_ms": row.get("scanned_at_ms"),
                    "warning": row.get("warning"),
                }
        return None

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.events_seen += 1
            kind = event.get("type")
            if kind == "decision":
                self._decision(event)
            elif kind == "gate":
                gate = self.gates.get(str(event.get("gate")))
                if gate is not None:
                    gate.paused = bool(event.get("paused"))
            elif kind == "alert":
                self._alert(event)
            elif kind == "conflict" and "id" in event:
                self.conflicts[str(event["id"])] = {k: v for k, v in event.items() if k != "type"}
            elif kind == "state":
                self.daemon_state = str(event.get("state", ""))
            elif kind == "bad_read":
                # Answered with a bad beep, not decided: in the log with its reason, so a
                # supervisor sees why a scanner said no; never counted as a denial.
                self.recent.appendleft(bad_read_row(event))

    def _alert(self, event: dict[str, Any]) -> None:
        if "id" not in event:
            # A bare alert (an older daemon's journal_failed): key it by what and where.
            where = event.get("scanner") or event.get("gate") or "daemon"
            event = {
                "id": f"{event.get('kind', 'alert')}:{where}",
                "severity": "critical",
                "message": f"{event.get('kind', 'alert')} at {where}",
                "active": True,
                "acknowledged": False,
                **event,
            }
        self.alerts[str(event["id"])] = event

    def _decision(self, event: dict[str, Any]) -> None:
        name = str(event.get("gate", "?"))
        gate = self.gates.get(name)
        if gate is None:
            gate = self.gates[name] = GateView(name)
        gate.count(event)
        if event.get("scan_id") not in self._seeded:  # already read from /scans
            self.recent.appendleft(scan_row_from_event(event))
        totals = self.status.get("totals")
        if isinstance(totals, dict):
            key = "admitted" if event.get("allowed") else "denied"
            totals[key] = int(totals.get(key, 0)) + 1

    # -- reading ---------------------------------------------------------------------

    @property
    def totals(self) -> dict[str, Any]:
        totals = self.status.get("totals")
        return totals if isinstance(totals, dict) else {}

    def counts(self) -> Counts:
        """Entries, exits and denials over every gate; inside by zone from the daemon
        (tickets whose latest pass is an entry: never negative, never an exit twice)."""
        inside = {
            str(zone): max(0, int(count))
            for zone, count in (self.totals.get("inside") or {}).items()
        }
        cap = self.totals.get("inside_cap")
        return Counts(
            entries=sum(view.entries for view in self.gates.values()),
            exits=sum(view.exits for view in self.gates.values()),
            denied=sum(view.denied for view in self.gates.values()),
            inside=inside,
            tickets_in=int(self.totals.get("tickets_in", 0)),
            manifest_tickets=int(self.totals.get("manifest_tickets", 0)),
            has_exits=any(view.has_exit_lane for view in self.gates.values()),
            inside_cap=None if cap is None else max(0, int(cap)),
        )

    def alert_list(self, *, by_urgency: bool = False) -> list[dict[str, Any]]:
        """Active first, then newest first (the daemon's order); ``by_urgency``: the
        unacknowledged first, critical before warnings, then active, then newest."""
        if by_urgency:
            return sorted(self.alerts.values(), key=_urgency)
        return sorted(
            self.alerts.values(),
            key=lambda alert: (not alert.get("active", True), -int(alert.get("at_ms", 0))),
        )

    def conflict_list(self) -> list[dict[str, Any]]:
        """Open first, then the latest reported first (the daemon's order)."""
        return sorted(
            self.conflicts.values(),
            key=lambda c: (bool(c.get("acknowledged")), -int(c.get("first_seen_ms") or 0)),
        )

    def open_conflicts(self) -> list[dict[str, Any]]:
        return [c for c in self.conflicts.values() if not c.get("acknowledged")]

    def unacknowledged(self) -> list[dict[str, Any]]:
        """Alerts nobody acknowledged, active or cleared by themselves: a burst of forged
        codes that stopped is still something the supervisor has to have seen."""
        return [alert for alert in self.alert_list() if not alert.get("acknowledged", False)]

    def pressing(self) -> list[dict[str, Any]]:
        """What the main screen shows: unacknowledged alerts, critical and active first."""
        return sorted(self.unacknowledged(), key=_urgency)


def _urgency(alert: dict[str, Any]) -> tuple[bool, bool, bool, int]:
    return (
        bool(alert.get("acknowledged", False)),
        alert.get("severity") != "critical",
        not alert.get("active", True),
        -int(alert.get("at_ms", 0)),
    )
