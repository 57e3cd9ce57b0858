"""The night in numbers, from the scans as ``GET /api/scans`` lists them (camelCase).

Minutes are UTC minutes of ``scannedAt`` (when the gate read the code, not when the
backend heard of it: offline uploads land late but count when they happened). An entry
is an admission in (ADMITTED, or RE_ENTRY_ADMITTED: a re-entry); an exit is EXITED; a
denial is any scan not allowed. A zone is the zone the scanning device was registered
to ("—" for a device without one). An offline period is a run of one device's offline
decisions with no online one between and no gap longer than ``OFFLINE_GAP``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scanctl.core import Reason

__all__ = ["NO_ZONE", "OFFLINE_GAP", "Night", "OfflinePeriod", "minute_of", "night_from_scans"]

NO_ZONE = "—"
OFFLINE_GAP = timedelta(minutes=5)
_ENTRIES = {Reason.ADMITTED.value, Reason.RE_ENTRY_ADMITTED.value}


def minute_of(stamp: str) -> datetime:
    """The UTC minute a ``scannedAt`` falls in."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class OfflinePeriod:
    device: str
    gate: str
    start: datetime
    end: datetime
    scans: int


@dataclass
class Night:
    """Every figure of the report."""

    scans: int = 0
    entries: int = 0
    reentries: int = 0
    exits: int = 0
    denied: int = 0
    tickets_in: int = 0
    entries_by_gate: dict[str, Counter[datetime]] = field(default_factory=dict)
    entries_by_zone: dict[str, Counter[datetime]] = field(default_factory=dict)
    denials_by_reason: dict[str, Counter[datetime]] = field(default_factory=dict)
    reentries_by_gate: Counter[str] = field(default_factory=Counter)
    offline: list[OfflinePeriod] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def minutes(self) -> list[datetime]:
        """Every minute from the first scan's to the last's (quiet ones included)."""
        seen = [m for series in self._all_series() for m in series]
        if not seen:
            return []
        first, last = min(seen), max(seen)
        return [first + timedelta(minutes=i) for i in range(int((last - first) / _MINUTE) + 1)]

    def _all_series(self) -> list[Counter[datetime]]:
        return [*self.entries_by_gate.values(), *self.denials_by_reason.values()]

    def peak(self, gate: str | None = None) -> tuple[int, datetime | None]:
        """The most entries in one minute (at one gate, or at all of them) and when."""
        if gate is not None:
            series = self.entries_by_gate.get(gate, Counter())
        else:
            series = Counter()
            for counts in self.entries_by_gate.values():
                series.update(counts)
        if not series:
            return 0, None
        minute = max(series, key=lambda m: (series[m], -m.timestamp()))
        return series[minute], minute

    def denials_total(self) -> Counter[str]:
        return Counter({reason: sum(c.values()) for reason, c in self.denials_by_reason.items()})


_MINUTE = timedelta(minutes=1)


def night_from_scans(
    scans: list[dict[str, Any]],
    *,
    zones: dict[str, str] | None = None,
    conflicts: list[dict[str, Any]] | None = None,
) -> Night:
    """``zones``: device id → its registered zone; ``conflicts``: ``GET /api/conflicts``."""
    zones = zones or {}
    night = Night(conflicts=list(conflicts or []))
    tickets_in: set[str] = set()
    ordered = sorted(scans, key=lambda s: (str(s.get("scannedAt")), str(s.get("id"))))
    for scan in ordered:
        night.scans += 1
        minute = minute_of(str(scan["scannedAt"]))
        gate = str(scan.get("gate") or NO_ZONE)
        reason = str(scan.get("reason"))
        if not scan.get("allowed"):
            night.denied += 1
            night.denials_by_reason.setdefault(reason, Counter())[minute] += 1
        elif reason == Reason.EXITED.value:
            night.exits += 1
        elif reason in _ENTRIES:
            night.entries += 1
            zone = zones.get(str(scan.get("deviceId")), NO_ZONE)
            night.entries_by_gate.setdefault(gate, Counter())[minute] += 1
            night.entries_by_zone.setdefault(zone, Counter())[minute] += 1
            if reason == Reason.RE_ENTRY_ADMITTED.value:
                night.reentries += 1
                night.reentries_by_gate[gate] += 1
            if scan.get("ticketId"):
                tickets_in.add(str(scan["ticketId"]))
    night.tickets_in = len(tickets_in)
    night.offline = _offline_periods(ordered)
    return night


def _offline_periods(scans: list[dict[str, Any]]) -> list[OfflinePeriod]:
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    periods: list[OfflinePeriod] = []

    def close(device: str) -> None:
        run = runs.pop(device, [])
        if run:
            periods.append(
                OfflinePeriod(
                    device,
                    str(run[0].get("gate") or NO_ZONE),
                    _at(run[0]),
                    _at(run[-1]),
                    len(run),
                )
            )

    for scan in scans:
        device = str(scan.get("deviceId"))
        run = runs.get(device)
        if scan.get("decidedBy") != "offline":
            close(device)
            continue
        if run and _at(scan) - _at(run[-1]) > OFFLINE_GAP:
            close(device)
        runs[device].append(scan)
    for device in list(runs):
        close(device)
    return sorted(periods, key=lambda p: (p.start, p.device))


def _at(scan: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(scan["scannedAt"]).replace("Z", "+00:00"))
