"""Catalog events: create or update, read, list — always inside the caller's `Scope`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Row, select, update

from scanctl.backend.db.schema import events
from scanctl.backend.errors import Conflict, NotFound
from scanctl.backend.store.scope import Scope
from scanctl.core import EventFacts

__all__ = ["EventRecord", "get_event", "list_events", "upsert_event"]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event of the catalog. Times in ms since the epoch."""

    tenant_id: str
    id: str
    venue_id: str
    name: str
    starts_at_ms: int
    ends_at_ms: int
    ticket_seq: int
    created_at_ms: int
    updated_at_ms: int

    def facts(self) -> EventFacts:
        """What decide() needs to know about this event."""
        return EventFacts(
            self.id, self.tenant_id, self.venue_id, self.starts_at_ms, self.ends_at_ms
        )


def _record(row: Row[tuple[object, ...]]) -> EventRecord:
    m = row._mapping
    return EventRecord(
        tenant_id=m["tenant_id"],
        id=m["id"],
        venue_id=m["venue_id"],
        name=m["name"],
        starts_at_ms=m["starts_at_ms"],
        ends_at_ms=m["ends_at_ms"],
        ticket_seq=m["ticket_seq"],
        created_at_ms=m["created_at_ms"],
        updated_at_ms=m["updated_at_ms"],
    )


def _find(scope: Scope, conn: Connection, event_id: str) -> EventRecord | None:
    row = conn.execute(
        select(events).where(scope.tenant_filter(events.c.tenant_id), events.c.id == event_id)
    ).first()
    return None if row is None else _record(row)


def get_event(scope: Scope, conn: Connection, event_id: str) -> EventRecord:
    """The event; NotFound outside the tenant, OutOfVenue outside the scope's venues."""
    record = _find(scope, conn, event_id)
    if record is None:
        raise NotFound("event")
    scope.require_venue("event", event_id, record.venue_id)
    return record


def list_events(
    scope: Scope, conn: Connection, *, venue_id: str | None = None
) -> list[EventRecord]:
    """Events of the scope (optionally of one of its venues), soonest first."""
    query = select(events).where(scope.where(events.c.tenant_id, events.c.venue_id))
    if venue_id is not None:
        scope.require_venue("venue", venue_id, venue_id)
        query = query.where(events.c.venue_id == venue_id)
    rows = conn.execute(query.order_by(events.c.starts_at_ms, events.c.id)).all()
    return [_record(row) for row in rows]


def upsert_event(
    scope: Scope,
    conn: Connection,
    *,
    event_id: str,
    venue_id: str,
    name: str,
    starts_at_ms: int,
    ends_at_ms: int,
    now_ms: int,
) -> tuple[EventRecord, bool]:
    """Create the event or update its name and times; returns it and whether it is new.

    An event never moves to another venue (Conflict): its devices and manifests are
    bound to the venue.
    """
    scope.require_venue("venue", venue_id, venue_id)
    existing = _find(scope, conn, event_id)
    if existing is None:
        conn.execute(
            events.insert().values(
                tenant_id=scope.tenant_id,
                id=event_id,
                venue_id=venue_id,
                name=name,
                starts_at_ms=starts_at_ms,
                ends_at_ms=ends_at_ms,
                ticket_seq=0,
                created_at_ms=now_ms,
                updated_at_ms=now_ms,
            )
        )
        return get_event(scope, conn, event_id), True
    scope.require_venue("event", event_id, existing.venue_id)
    if existing.venue_id != venue_id:
        raise Conflict("an event cannot move to another venue")
    conn.execute(
        update(events)
        .where(scope.tenant_filter(events.c.tenant_id), events.c.id == event_id)
        .values(name=name, starts_at_ms=starts_at_ms, ends_at_ms=ends_at_ms, updated_at_ms=now_ms)
    )
    return get_event(scope, conn, event_id), False
