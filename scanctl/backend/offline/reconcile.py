"""Reconciliation: storing a device's offline scans exactly once and finding over-admissions.

Every scan is stored once, keyed by the device and the id it chose (UUIDv7, made when
the code was read): a re-push finds the stored row and changes nothing, and another
device's ids are never in the way. Answers per scan:

- ``accepted``: stored now — or stored before as a *late online decision*: the gate
  asked the backend, gave up at its deadline and decided offline, and the backend
  decided the queued request after all. That decision was never seen at the door, so
  the stored scan becomes the gate's: one scan, as the person was let in (or not);
- ``duplicate``: already stored (a re-push), or decided online (the backend stored it
  when it decided, so the upload is not stored a second time);
- ``conflict``: the scan is an admission involved in a double entry of its ticket,
  counting every stored pass of it from every device (`core.conflicts`: the same
  rotating code twice, the same printed code twice, two entries without an exit, or
  more entries than the event's policy allows). Every admission involved is in
  conflict, whichever side uploaded first, and the answer lists the other admissions
  with the conflict's kind and id. A re-push of a conflicting scan answers
  ``conflict`` again, so an answer lost in transit is never lost for good;
- ``rejected``: the scan cannot be filed (the device's venue has no event), or what it
  rests on does not check (`core.check_upload`: the device's active period, an
  admission's event window and its code's MAC or printed-code hash). Not stored.

What cannot be checked (no ticket id, a ticket the backend does not hold, a printed
code without a hash on record) is stored with ``unverified`` saying so, in the answer
and in the scan's warning.

Everything happens in one write transaction per request, which first locks the
tickets it admits (``store.lock_tickets``, as the scan writer does), so concurrent
uploads of the same ticket — to one instance or several — are judged one after the
other and none escapes the count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from scanctl.backend import store
from scanctl.backend.offline.conflicts import ticket_conflicts
from scanctl.backend.store import offline as scans_store
from scanctl.backend.store.offline import VenueEvent
from scanctl.backend.text_guard import storable_text
from scanctl.core import (
    Conflict,
    Direction,
    EventFacts,
    Policy,
    UploadCheck,
    UploadFacts,
    check_upload,
)

__all__ = [
    "RAW_MAX",
    "ConflictRef",
    "OfflineScan",
    "ScanResult",
    "pick_event",
    "reconcile_scans",
]

RAW_MAX = 512
"""Characters of a scanned payload that are stored."""

MAX_CONFLICTS_LISTED = 50
"""Other admissions listed per conflicting scan, earliest first (a ticket copied onto
hundreds of phones would otherwise make every answer quadratic)."""

EVENT_MARGIN_MS = 12 * 3_600_000
"""A scan this close to an event's window is filed under that event."""


@dataclass(frozen=True, slots=True)
class OfflineScan:
    """One uploaded scan, validated by the API layer."""

    id: str
    qr_data: str
    ticket_id: str | None
    allowed: bool
    reason: str
    gate: str | None
    direction: str
    scanned_at_ms: int
    decided_by: str
    event_id: str | None = None
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class ConflictRef:
    """Another admission of the same ticket, and the conflict the two are in."""

    scan_id: str
    device_id: str
    gate: str | None
    scanned_at_ms: int
    kind: str = ""
    conflict_id: str = ""


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The answer for one uploaded scan."""

    id: str
    status: str
    late: bool = False
    ticket_id: str | None = None
    conflicts: tuple[ConflictRef, ...] = field(default_factory=tuple)
    error: str | None = None
    unverified: str | None = None
    """What of a stored scan could not be checked (`core.check_upload`)."""


def pick_event(candidates: Sequence[VenueEvent], at_ms: int) -> str | None:
    """The event a scan at ``at_ms`` belongs to: one whose window (with a margin) holds
    it, else the one starting nearest to it; None without candidates."""
    near = [
        e
        for e in candidates
        if e.starts_at_ms - EVENT_MARGIN_MS <= at_ms <= e.ends_at_ms + EVENT_MARGIN_MS
    ]
    pool = near or list(candidates)
    if not pool:
        return None
    return min(pool, key=lambda e: (abs(e.starts_at_ms - at_ms), e.id)).id


def _file_under_events(
    scope: store.Scope,
    conn: Connection,
    venue_id: str,
    uploads: Sequence[OfflineScan],
) -> tuple[dict[str, str | None], list[VenueEvent]]:
    """Scan id -> the event it is filed under (batched: two queries for the whole call),
    and the venue's events."""
    venue = scans_store.venue_events(scope, conn, venue_id)
    by_id = {e.id: e for e in venue}
    ticket_ids = [s.ticket_id for s in uploads if s.ticket_id and s.event_id not in by_id]
    holders = scans_store.ticket_events(scope, conn, [e.id for e in venue], ticket_ids)
    chosen: dict[str, str | None] = {}
    for scan in uploads:
        if scan.event_id is not None and scan.event_id in by_id:
            chosen[scan.id] = scan.event_id
            continue
        held = holders.get(scan.ticket_id or "", [])
        candidates = [by_id[event_id] for event_id in held] or venue
        chosen[scan.id] = pick_event(candidates, scan.scanned_at_ms)
    return chosen, venue


def reconcile_scans(
    scope: store.Scope,
    conn: Connection,
    *,
    device: store.DeviceRecord,
    uploads: Sequence[OfflineScan],
    policy_of: Callable[[str], Policy],
    now_ms: int,
    late_after_ms: int,
    event_keys_of: Callable[[str], Sequence[bytes]],
    recorded: list[store.ScanRecord] | None = None,
) -> list[ScanResult]:
    """Store the new scans of ``uploads`` and answer each (in the caller's transaction);
    the rows stored are appended to ``recorded`` (metrics count them after the commit)."""
    by_key = store.scans_by_device_id(scope, conn, [(device.id, s.id) for s in uploads])
    stored = {scan_id: row for (_device, scan_id), row in by_key.items()}
    seen: set[str] = set()
    fresh: list[OfflineScan] = []
    superseded: set[str] = set()
    for scan in uploads:
        if scan.decided_by == "offline" and scan.id not in seen:
            earlier = stored.get(scan.id)
            if earlier is None:
                fresh.append(scan)
            elif earlier.decided_by == "online":
                # The backend's late answer to a read the gate decided itself.
                fresh.append(scan)
                superseded.add(scan.id)
                del stored[scan.id]
        seen.add(scan.id)
    events_of, venue = _file_under_events(scope, conn, device.venue_id, fresh)
    checks = _check_uploads(scope, conn, device, fresh, events_of, venue, policy_of, event_keys_of)
    new_rows: dict[str, store.ScanRecord] = {}
    for scan in fresh:
        event_id = events_of[scan.id]
        check = checks[scan.id]
        if event_id is None or check.refused is not None:
            continue
        new_rows[scan.id] = store.ScanRecord(
            id=scan.id,
            event_id=event_id,
            ticket_id=scan.ticket_id,
            device_id=device.id,
            gate=scan.gate,
            direction=Direction(scan.direction),
            raw=storable_text(scan.qr_data, RAW_MAX),
            reason=scan.reason,
            allowed=scan.allowed,
            decided_by="offline",
            scanned_at_ms=scan.scanned_at_ms,
            recorded_at_ms=now_ms,
            late=now_ms - scan.scanned_at_ms > late_after_ms,
            warning=_with_mark(scan.warning, check.unverified),
        )
    rows = {**stored, **new_rows}
    if recorded is not None:
        recorded.extend(new_rows.values())
    _lock_admitted_tickets(scope, conn, rows.values())
    store.insert_scans(scope, conn, [r for r in new_rows.values() if r.id not in superseded])
    for scan_id in superseded & new_rows.keys():
        store.replace_decision(scope, conn, new_rows[scan_id])

    involved = _conflicts_by_scan(scope, conn, rows.values(), policy_of)
    results: list[ScanResult] = []
    answered: set[str] = set()
    for scan in uploads:
        row = rows.get(scan.id)
        if row is None:
            status = "duplicate" if scan.decided_by == "online" else "rejected"
            refused = checks[scan.id].refused if scan.id in checks else None
            error = None if status == "duplicate" else refused or "no event of the device's venue"
            results.append(ScanResult(scan.id, status, ticket_id=scan.ticket_id, error=error))
            continue
        if row.is_admission and row.id in involved:
            others = tuple(
                ConflictRef(o.scan_id, o.device_id, o.gate, o.at_ms, c.kind.value, c.id)
                for c in involved[row.id]
                for o in c.admissions
                if (o.device_id, o.scan_id) != (row.device_id, row.id)
            )[:MAX_CONFLICTS_LISTED]
            status = "conflict"
        else:
            others = ()
            fresh_now = scan.id in new_rows and scan.id not in answered
            status = "accepted" if fresh_now else "duplicate"
        answered.add(scan.id)
        unverified = checks[scan.id].unverified if scan.id in checks else None
        results.append(
            ScanResult(scan.id, status, row.late, row.ticket_id, others, unverified=unverified)
        )
    return results


UNVERIFIED_MARK = "unverified: "


def _with_mark(warning: str | None, unverified: str | None) -> str | None:
    if unverified is None:
        return warning
    mark = UNVERIFIED_MARK + unverified
    return mark if not warning else f"{warning}; {mark}"


def _check_uploads(
    scope: store.Scope,
    conn: Connection,
    device: store.DeviceRecord,
    uploads: Sequence[OfflineScan],
    events_of: dict[str, str | None],
    venue: Sequence[VenueEvent],
    policy_of: Callable[[str], Policy],
    event_keys_of: Callable[[str], Sequence[bytes]],
) -> dict[str, UploadCheck]:
    """`core.check_upload` for each new scan, with what the backend holds around it."""
    by_id = {e.id: e for e in venue}
    wanted: dict[str, set[str]] = defaultdict(set)
    for scan in uploads:
        event_id = events_of[scan.id]
        if event_id is not None and scan.allowed and scan.ticket_id is not None:
            wanted[event_id].add(scan.ticket_id)
    hashes = {
        event_id: scans_store.ticket_static_hashes(scope, conn, event_id, sorted(ids))
        for event_id, ids in wanted.items()
    }
    checks: dict[str, UploadCheck] = {}
    for scan in uploads:
        event_id = events_of[scan.id]
        filed = by_id.get(event_id) if event_id is not None else None
        policy = policy_of(event_id) if event_id is not None else None
        held = hashes.get(event_id or "", {})
        facts = UploadFacts(
            device_registered_ms=device.created_at_ms,
            device_revoked_ms=device.revoked_at_ms,
            event=None
            if filed is None
            else EventFacts(
                filed.id, scope.tenant_id, device.venue_id, filed.starts_at_ms, filed.ends_at_ms
            ),
            event_keys=event_keys_of(event_id) if event_id is not None and scan.allowed else (),
            ticket_known=scan.ticket_id in held,
            static_hash=held.get(scan.ticket_id or ""),
            skew_ms=(policy.clock_skew_seconds if policy else 0) * 1000,
            doors_open_ms=(policy.doors_open_minutes_before_start if policy else 0) * 60_000,
        )
        checks[scan.id] = check_upload(
            facts,
            qr_data=scan.qr_data,
            ticket_id=scan.ticket_id,
            allowed=scan.allowed,
            scanned_at_ms=scan.scanned_at_ms,
        )
    return checks


def _lock_admitted_tickets(
    scope: store.Scope, conn: Connection, rows: Iterable[store.ScanRecord]
) -> None:
    """Before counting: lock every ticket these admissions name, so an upload at another
    instance (or that instance's scan writer) counting the same ticket waits for this
    transaction and then sees its rows — else both could count one admission and both
    answer ``accepted``. Same order as the scan writer: events, then tickets, by id."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.is_admission and row.ticket_id is not None:
            wanted[row.event_id].add(row.ticket_id)
    for event_id in sorted(wanted):
        store.lock_tickets(scope, conn, event_id, sorted(wanted[event_id]))


def _conflicts_by_scan(
    scope: store.Scope,
    conn: Connection,
    rows: Iterable[store.ScanRecord],
    policy_of: Callable[[str], Policy],
) -> dict[str, list[Conflict]]:
    """Scan id of an admission among ``rows`` that is in a conflict -> every conflict of
    its ticket (the answer lists all the ticket's other admissions involved, as it
    always has; each names its conflict). The rows are one device's, so a scan id names
    one of them."""
    wanted: dict[str, set[str]] = defaultdict(set)
    mine: set[tuple[str, str]] = set()
    for row in rows:
        if row.is_admission and row.ticket_id is not None:
            wanted[row.event_id].add(row.ticket_id)
            mine.add((row.device_id, row.id))
    involved: dict[str, list[Conflict]] = defaultdict(list)
    for event_id, ticket_ids in wanted.items():
        by_ticket: dict[str, list[Conflict]] = defaultdict(list)
        for conflict in ticket_conflicts(scope, conn, event_id, ticket_ids, policy_of(event_id)):
            by_ticket[conflict.ticket_id].append(conflict)
        for conflicts in by_ticket.values():
            for admission in {a for c in conflicts for a in c.admissions}:
                if (admission.device_id, admission.scan_id) in mine:
                    involved[admission.scan_id] = conflicts
    return involved
