"""What the services answer, validated: the scanctl catalog's JSON shapes, to core facts.

The upstream contract is the catalog API of a scanctl backend (`GET
/api/catalog/events/{eventId}` and `GET /api/catalog/events/{eventId}/tickets/{ticketId}`).
Unknown fields are ignored (a service may say more than we read); a missing or
malformed field, or an id other than the one asked for, is `UpstreamGarbage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from scanctl.backend.upstream.errors import UpstreamGarbage
from scanctl.core import EventFacts, TicketFacts, TicketStatus

__all__ = ["TicketPage", "UpstreamEvent", "parse_event", "parse_ticket", "parse_ticket_page"]

_TicketId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")]
_Uuid = Annotated[str, StringConstraints(min_length=1, max_length=36)]
_Zone = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)


class _Event(_In):
    id: _Uuid
    venue_id: _Uuid
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class _Ticket(_In):
    id: _TicketId
    event_id: _Uuid
    status: TicketStatus
    zones: Annotated[list[_Zone], Field(max_length=32)] = Field(default_factory=list)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    transferred_to: _TicketId | None = None
    static_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class _Page(_In):
    tickets: Annotated[list[_Ticket], Field(max_length=1000)]
    next: _TicketId | None = None


@dataclass(frozen=True, slots=True)
class UpstreamEvent:
    """An event as the event service tells it: the facts scans use, and its name (mirrored)."""

    facts: EventFacts
    name: str


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000)


def parse_event(data: object, tenant_id: str, event_id: str) -> UpstreamEvent:
    """The event in a service's answer, or UpstreamGarbage."""
    try:
        event = _Event.model_validate(data)
    except ValidationError as exc:
        raise UpstreamGarbage(f"not an event: {_first_error(exc)}") from None
    if event.id != event_id:
        raise UpstreamGarbage(f"asked for event {event_id}, got {event.id}")
    facts = EventFacts(
        event.id, tenant_id, event.venue_id, _ms(event.starts_at), _ms(event.ends_at)
    )
    return UpstreamEvent(facts, event.name)


def parse_ticket(data: object, event_id: str, ticket_id: str) -> TicketFacts:
    """The ticket in a service's answer, or UpstreamGarbage."""
    try:
        ticket = _Ticket.model_validate(data)
    except ValidationError as exc:
        raise UpstreamGarbage(f"not a ticket: {_first_error(exc)}") from None
    if ticket.id != ticket_id or ticket.event_id != event_id:
        raise UpstreamGarbage(
            f"asked for ticket {ticket_id} of {event_id}, got {ticket.id} of {ticket.event_id}"
        )
    return _facts(ticket)


def _facts(ticket: _Ticket) -> TicketFacts:
    return TicketFacts(
        ticket_id=ticket.id,
        event_id=ticket.event_id,
        status=ticket.status,
        zones=frozenset(ticket.zones),
        valid_from_ms=None if ticket.valid_from is None else _ms(ticket.valid_from),
        valid_until_ms=None if ticket.valid_until is None else _ms(ticket.valid_until),
        transferred_to=ticket.transferred_to,
    )


@dataclass(frozen=True, slots=True)
class TicketPage:
    """One page of an event's ticket list: (facts, static-code hash) pairs, and the id to
    pass as ``after`` for the next page (None: the last page)."""

    tickets: tuple[tuple[TicketFacts, str | None], ...]
    next: str | None


def parse_ticket_page(data: object, event_id: str, after: str | None) -> TicketPage:
    """A page of `GET …/tickets?after=`, or UpstreamGarbage."""
    try:
        page = _Page.model_validate(data)
    except ValidationError as exc:
        raise UpstreamGarbage(f"not a page of tickets: {_first_error(exc)}") from None
    ids = [t.id for t in page.tickets]
    if any(t.event_id != event_id for t in page.tickets):
        raise UpstreamGarbage(f"a page of {event_id}'s tickets holds another event's")
    # Strictly increasing and past `after`: a service repeating itself cannot loop us.
    if ids != sorted(set(ids)) or (after is not None and ids and ids[0] <= after):
        raise UpstreamGarbage("a page of tickets out of order")
    if page.next is not None and (not ids or page.next != ids[-1]):
        raise UpstreamGarbage("a page of tickets whose `next` is not its last ticket")
    return TicketPage(tuple((_facts(t), t.static_hash) for t in page.tickets), page.next)


def _first_error(exc: ValidationError) -> str:
    # One short line for the log: where and what, never the (possibly huge) input.
    error = exc.errors(include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
