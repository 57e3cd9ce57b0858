"""Conflicts from the stored scans: `core.find_conflicts` over each ticket's admitted passes.

The scans table keeps what was scanned; the rule needs only what identifies the code
(a rotating code's nonce, a printed secret's SHA-256: `core.code_key`), so nothing read
here ever leaves as a secret or a raw payload. Computed on demand, never stored: the
same scans always give the same conflicts, with the same ids.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection

from scanctl.backend import store
from scanctl.backend.store import offline as scans_store
from scanctl.core import Admission, Conflict, Policy, code_key, find_conflicts

__all__ = ["admission_of", "event_conflicts", "ticket_conflicts"]


def admission_of(record: store.ScanRecord) -> Admission:
    """A stored admitted pass as the conflict rule sees it."""
    return Admission(
        scan_id=record.id,
        device_id=record.device_id,
        at_ms=record.scanned_at_ms,
        direction=record.direction,
        gate=record.gate,
        decided_by=record.decided_by,
        code=code_key(record.raw),
        recorded_at_ms=record.recorded_at_ms,
    )


def ticket_conflicts(
    scope: store.Scope,
    conn: Connection,
    event_id: str,
    ticket_ids: Iterable[str],
    policy: Policy,
) -> list[Conflict]:
    """The conflicts of these tickets of the event, ticket by ticket."""
    by_ticket: dict[str, list[Admission]] = defaultdict(list)
    for record in scans_store.admitted_passes(scope, conn, event_id, sorted(set(ticket_ids))):
        by_ticket[record.ticket_id or ""].append(admission_of(record))
    found: list[Conflict] = []
    for ticket_id in sorted(by_ticket):
        found.extend(find_conflicts(event_id, ticket_id, by_ticket[ticket_id], policy))
    return found


def event_conflicts(
    scope: store.Scope,
    conn: Connection,
    event_id: str,
    policy: Policy,
    *,
    since_ms: int | None = None,
    device_id: str | None = None,
) -> list[Conflict]:
    """The event's conflicts, oldest known first: only tickets with two entry admissions
    or more can have one. ``since_ms`` keeps those known (their last admission stored)
    at or after it; ``device_id`` those with an admission of that device."""
    store.get_event(scope, conn, event_id)
    counts = scans_store.admissions_by_ticket(scope, conn, event_id, None)
    doubled = [ticket for ticket, count in counts.items() if count > 1]
    found = ticket_conflicts(scope, conn, event_id, doubled, policy)
    if since_ms is not None:
        found = [c for c in found if c.detected_at_ms >= since_ms]
    if device_id is not None:
        found = [c for c in found if c.involves(device_id)]
    found.sort(key=lambda c: (c.detected_at_ms, c.first.at_ms, c.id))
    return found
