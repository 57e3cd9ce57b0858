"""The backend's own catalog: events and their tickets (bulk upsert)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from scanctl.backend import store
from scanctl.backend.api.deps import CatalogManager, Db, NowMs, Reader, responses
from scanctl.backend.api.models import (
    EventIn,
    EventOut,
    TicketOut,
    TicketsIn,
    TicketsOut,
    UpsertOut,
)
from scanctl.backend.clock import datetime_to_ms, ms_to_datetime
from scanctl.backend.scanning.cache import invalidate
from scanctl.backend.state import backend_state

__all__ = ["router"]

router = APIRouter(prefix="/api/catalog", tags=["catalog"], responses=responses(400, 401))

EventId = Annotated[UUID, Path(alias="eventId")]


def event_out(record: store.EventRecord) -> EventOut:
    """The API shape of an event."""
    return EventOut(
        id=record.id,
        venue_id=record.venue_id,
        name=record.name,
        starts_at=ms_to_datetime(record.starts_at_ms),
        ends_at=ms_to_datetime(record.ends_at_ms),
        ticket_sequence=record.ticket_seq,
        created_at=ms_to_datetime(record.created_at_ms),
        updated_at=ms_to_datetime(record.updated_at_ms),
    )


def _ticket_out(record: store.TicketRecord) -> TicketOut:
    return TicketOut(
        id=record.id,
        event_id=record.event_id,
        status=record.status,
        zones=list(record.zones),
        valid_from=None if record.valid_from_ms is None else ms_to_datetime(record.valid_from_ms),
        valid_until=(
            None if record.valid_until_ms is None else ms_to_datetime(record.valid_until_ms)
        ),
        transferred_to=record.transferred_to,
        static_hash=record.static_hash,
        updated_seq=record.updated_seq,
    )


@router.post(
    "/events",
    status_code=201,
    responses={200: {"model": EventOut, "description": "Updated"}, **responses(403, 409)},
)
def put_event(
    body: EventIn,
    principal: CatalogManager,
    db: Db,
    now: NowMs,
    response: Response,
    request: Request,
) -> EventOut:
    """Create an event (201) or update its name and times (200). Events never change venue."""
    scope = principal.scope()
    with db.write(scope) as conn:
        record, created = store.upsert_event(
            scope,
            conn,
            event_id=str(body.id),
            venue_id=str(body.venue_id),
            name=body.name,
            starts_at_ms=datetime_to_ms(body.starts_at),
            ends_at_ms=datetime_to_ms(body.ends_at),
            now_ms=now,
        )
    invalidate(backend_state(request.app), scope.tenant_id, event_id=record.id)
    if not created:
        response.status_code = 200
    return event_out(record)


@router.get("/events", responses=responses(403))
def list_events(
    principal: Reader, db: Db, venue_id: Annotated[UUID | None, Query(alias="venueId")] = None
) -> list[EventOut]:
    """Events you may see, soonest first (optionally of one venue)."""
    scope = principal.scope()
    with db.read(scope) as conn:
        records = store.list_events(
            scope, conn, venue_id=None if venue_id is None else str(venue_id)
        )
    return [event_out(r) for r in records]


@router.get("/events/{eventId}", responses=responses(403, 404))
def show_event(principal: Reader, db: Db, event_id: EventId) -> EventOut:
    """One event."""
    scope = principal.scope()
    with db.read(scope) as conn:
        return event_out(store.get_event(scope, conn, str(event_id)))


@router.post(
    "/events/{eventId}/tickets",
    responses=responses(403, 404, 413),
)
def upsert_tickets(
    body: TicketsIn,
    principal: CatalogManager,
    db: Db,
    now: NowMs,
    event_id: EventId,
    request: Request,
) -> UpsertOut:
    """Create or update up to 10,000 tickets; identical tickets are left alone (idempotent)."""
    batch = [
        store.TicketInput(
            id=t.id,
            status=t.status,
            zones=tuple(t.zones),
            valid_from_ms=None if t.valid_from is None else datetime_to_ms(t.valid_from),
            valid_until_ms=None if t.valid_until is None else datetime_to_ms(t.valid_until),
            transferred_to=t.transferred_to,
            static_hash=t.static_hash,
        )
        for t in body.tickets
    ]
    scope = principal.scope()
    with db.write(scope) as conn:
        result = store.upsert_tickets(scope, conn, str(event_id), batch, now_ms=now)
        # Who refunded, cancelled or transferred which ticket, and when (plan 5.2, 5.3).
        store.audit_status_changes(
            scope,
            conn,
            event_id=str(event_id),
            venue_id=result.venue_id,
            changes=result.status_changes,
            actor=store.AuditActor(
                principal.subject, principal.kind.value, principal.role.value, principal.device_id
            ),
            at_ms=now,
        )
    invalidate(backend_state(request.app), scope.tenant_id, event_id=str(event_id))
    return UpsertOut(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        sequence=result.sequence,
    )


@router.get("/events/{eventId}/tickets", responses=responses(403, 404))
def list_tickets(
    principal: Reader,
    db: Db,
    event_id: EventId,
    after: Annotated[str | None, Query(pattern=r"^[0-9a-f]{8}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> TicketsOut:
    """One page of an event's tickets in id order."""
    scope = principal.scope()
    with db.read(scope) as conn:
        records = store.list_tickets(scope, conn, str(event_id), after=after, limit=limit)
    following = records[-1].id if len(records) == limit else None
    return TicketsOut(tickets=[_ticket_out(r) for r in records], next=following)


@router.get("/events/{eventId}/tickets/{ticketId}", responses=responses(403, 404))
def show_ticket(
    principal: Reader,
    db: Db,
    event_id: EventId,
    ticket_id: Annotated[str, Path(alias="ticketId", pattern=r"^[0-9a-f]{8}$")],
) -> TicketOut:
    """One ticket (what another backend fetches when this one is its ticket service)."""
    scope = principal.scope()
    with db.read(scope) as conn:
        return _ticket_out(store.get_ticket(scope, conn, str(event_id), ticket_id))
