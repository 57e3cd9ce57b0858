"""Offline scans: admissions per ticket for manifests, and batched reads and writes for
reconciliation — every query set-based (chunked IN lists), never one per scan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, select, true

from scanctl.backend.db.schema import events, scans, tickets
from scanctl.backend.store.scans import ScanRecord, record_of, ticket_key
from scanctl.backend.store.scope import Scope

__all__ = [
    "VenueEvent",
    "admissions_by_ticket",
    "admissions_for_tickets",
    "admissions_stamp",
    "admitted_passes",
    "manifest_ticket_rows",
    "ticket_events",
    "ticket_static_hashes",
    "venue_events",
]

_CHUNK = 500  # stays under every driver's bound-parameter limit


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _admitted() -> ColumnElement[bool]:
    return and_(scans.c.allowed == true(), scans.c.direction == "entry")


def admissions_by_ticket(
    scope: Scope, conn: Connection, event_id: str, ticket_ids: Iterable[str] | None
) -> dict[str, int]:
    """Admitted entries per ticket of the event (of ``ticket_ids``, or of every ticket)."""
    tenant, event, ticket = ticket_key(conn)
    base = (
        select(scans.c.ticket_id, func.count())
        .where(
            tenant == scope.tenant_id,
            event == event_id,
            scans.c.ticket_id.is_not(None),
            _admitted(),
        )
        .group_by(scans.c.ticket_id)
    )
    if ticket_ids is None:
        return {row[0]: int(row[1]) for row in conn.execute(base)}
    counts: dict[str, int] = {}
    for chunk in _chunks(sorted(set(ticket_ids))):
        for row in conn.execute(base.where(ticket.in_(chunk))):
            counts[row[0]] = int(row[1])
    return counts


def manifest_ticket_rows(
    scope: Scope, conn: Connection, event_id: str, since_seq: int
) -> list[tuple[str, str, str, int | None, int | None, str | None, str | None]]:
    """(id, status, zones JSON, valid from, valid until, transferred to, static hash) of the
    event's tickets changed after ``since_seq`` (0: all): plain tuples, because building
    100,000 records costs more than the query."""
    rows = conn.execute(
        select(
            tickets.c.id,
            tickets.c.status,
            tickets.c.zones,
            tickets.c.valid_from_ms,
            tickets.c.valid_until_ms,
            tickets.c.transferred_to,
            tickets.c.static_hash,
        ).where(
            scope.tenant_filter(tickets.c.tenant_id),
            tickets.c.event_id == event_id,
            tickets.c.updated_seq > since_seq,
        )
    )
    return [tuple(row) for row in rows]


def admissions_stamp(scope: Scope, conn: Connection, event_id: str) -> tuple[int, int]:
    """Changes whenever a scan of the event is stored (a cache key for packed manifests)."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.max(scans.c.recorded_at_ms), 0)).where(
            scope.tenant_filter(scans.c.tenant_id), scans.c.event_id == event_id
        )
    ).one()
    return int(row[0]), int(row[1])


def admissions_for_tickets(
    scope: Scope, conn: Connection, event_id: str, ticket_ids: Sequence[str]
) -> list[ScanRecord]:
    """Every stored admission of these tickets of the event, in scan order."""
    return _tickets_scans(scope, conn, event_id, ticket_ids, _admitted())


def admitted_passes(
    scope: Scope, conn: Connection, event_id: str, ticket_ids: Sequence[str]
) -> list[ScanRecord]:
    """Every admitted pass (entries and exits) of these tickets of the event, in scan
    order: what conflict detection looks at."""
    return _tickets_scans(scope, conn, event_id, ticket_ids, scans.c.allowed == true())


def _tickets_scans(
    scope: Scope,
    conn: Connection,
    event_id: str,
    ticket_ids: Sequence[str],
    condition: ColumnElement[bool],
) -> list[ScanRecord]:
    tenant, event, ticket = ticket_key(conn)
    found: list[ScanRecord] = []
    for chunk in _chunks(sorted(set(ticket_ids))):
        rows = conn.execute(
            select(scans).where(
                tenant == scope.tenant_id, event == event_id, ticket.in_(chunk), condition
            )
        )
        found.extend(record_of(row) for row in rows)
    found.sort(key=lambda s: (s.scanned_at_ms, s.id))
    return found


@dataclass(frozen=True, slots=True)
class VenueEvent:
    """An event of a venue and its window (for filing offline scans under an event)."""

    id: str
    starts_at_ms: int
    ends_at_ms: int


def venue_events(scope: Scope, conn: Connection, venue_id: str) -> list[VenueEvent]:
    """The venue's events, soonest first."""
    scope.require_venue("venue", venue_id, venue_id)
    rows = conn.execute(
        select(events.c.id, events.c.starts_at_ms, events.c.ends_at_ms)
        .where(scope.tenant_filter(events.c.tenant_id), events.c.venue_id == venue_id)
        .order_by(events.c.starts_at_ms, events.c.id)
    )
    return [VenueEvent(r[0], r[1], r[2]) for r in rows]


def ticket_events(
    scope: Scope, conn: Connection, event_ids: Sequence[str], ticket_ids: Sequence[str]
) -> dict[str, list[str]]:
    """For each ticket id, the events among ``event_ids`` that have a ticket with it."""
    found: dict[str, list[str]] = {}
    if not event_ids:
        return found
    for chunk in _chunks(sorted(set(ticket_ids))):
        rows = conn.execute(
            select(tickets.c.id, tickets.c.event_id).where(
                scope.tenant_filter(tickets.c.tenant_id),
                tickets.c.event_id.in_(list(event_ids)),
                tickets.c.id.in_(chunk),
            )
        )
        for ticket_id, event_id in rows:
            found.setdefault(ticket_id, []).append(event_id)
    return found


def ticket_static_hashes(
    scope: Scope, conn: Connection, event_id: str, ticket_ids: Sequence[str]
) -> dict[str, str | None]:
    """For each of these tickets the event holds, its printed code's hash (or None)."""
    found: dict[str, str | None] = {}
    for chunk in _chunks(sorted(set(ticket_ids))):
        rows = conn.execute(
            select(tickets.c.id, tickets.c.static_hash).where(
                scope.tenant_filter(tickets.c.tenant_id),
                tickets.c.event_id == event_id,
                tickets.c.id.in_(chunk),
            )
        )
        found.update({ticket_id: digest for ticket_id, digest in rows})
    return found
