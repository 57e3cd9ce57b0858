"""Catalog tickets: idempotent bulk upsert, paging, and per-event change sequences."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Row, bindparam, select, text, update

from scanctl.backend.db.schema import events, tickets
from scanctl.backend.errors import NotFound
from scanctl.backend.store.events import get_event
from scanctl.backend.store.scope import Scope
from scanctl.core import TicketFacts, TicketStatus

__all__ = [
    "StatusChange",
    "TicketInput",
    "TicketRecord",
    "UpsertResult",
    "get_ticket",
    "list_tickets",
    "lock_tickets",
    "tickets_changed_since",
    "upsert_tickets",
]

_IN_CHUNK = 500  # stays under every driver's bound-parameter limit


@dataclass(frozen=True, slots=True)
class TicketInput:
    """A ticket as an import or the API provides it."""

    id: str
    status: TicketStatus = TicketStatus.ACTIVE
    zones: tuple[str, ...] = ()
    valid_from_ms: int | None = None
    valid_until_ms: int | None = None
    transferred_to: str | None = None
    static_hash: str | None = None


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A stored ticket; ``updated_seq`` is the event's ticket sequence at its last change."""

    tenant_id: str
    event_id: str
    id: str
    status: TicketStatus
    zones: tuple[str, ...]
    valid_from_ms: int | None
    valid_until_ms: int | None
    transferred_to: str | None
    static_hash: str | None
    updated_seq: int
    updated_at_ms: int

    def facts(self) -> TicketFacts:
        """What decide() needs to know about this ticket."""
        return TicketFacts(
            ticket_id=self.id,
            event_id=self.event_id,
            status=self.status,
            zones=frozenset(self.zones),
            valid_from_ms=self.valid_from_ms,
            valid_until_ms=self.valid_until_ms,
            transferred_to=self.transferred_to,
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A stored ticket whose status (or transfer target) an upsert changed."""

    ticket_id: str
    before: TicketStatus
    after: TicketStatus
    transferred_to: str | None


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What a bulk upsert changed. Re-sending the same tickets changes nothing.
    ``status_changes``: the updated tickets whose status or transfer target changed (for
    the audit log), in the order they came."""

    created: int
    updated: int
    unchanged: int
    sequence: int
    status_changes: tuple[StatusChange, ...] = ()
    venue_id: str | None = None


def _record(row: Row[tuple[object, ...]]) -> TicketRecord:
    m = row._mapping
    return TicketRecord(
        tenant_id=m["tenant_id"],
        event_id=m["event_id"],
        id=m["id"],
        status=TicketStatus(m["status"]),
        zones=tuple(json.loads(m["zones"])),
        valid_from_ms=m["valid_from_ms"],
        valid_until_ms=m["valid_until_ms"],
        transferred_to=m["transferred_to"],
        static_hash=m["static_hash"],
        updated_seq=m["updated_seq"],
        updated_at_ms=m["updated_at_ms"],
    )


def _values(ticket: TicketInput) -> dict[str, object]:
    return {
        "status": ticket.status.value,
        "zones": json.dumps(sorted(set(ticket.zones))),
        "valid_from_ms": ticket.valid_from_ms,
        "valid_until_ms": ticket.valid_until_ms,
        "transferred_to": ticket.transferred_to,
        "static_hash": ticket.static_hash,
    }


def upsert_tickets(
    scope: Scope, conn: Connection, event_id: str, batch: Sequence[TicketInput], *, now_ms: int
) -> UpsertResult:
    """Insert new tickets and update changed ones of an event, in the caller's transaction.

    Idempotent: tickets identical to the stored ones are left alone and do not bump the
    event's ticket sequence, so a re-import produces no manifest delta.
    """
    event = get_event(scope, conn, event_id)
    wanted = {t.id: _values(t) for t in batch}  # the last row of a duplicated id wins
    stored: dict[str, dict[str, object]] = {}
    ids = list(wanted)
    for row in _stored(scope, conn, event_id, ids):
        stored[row._mapping["id"]] = {key: row._mapping[key] for key in _values_keys()}
    new = [tid for tid in ids if tid not in stored]
    changed = [tid for tid in ids if tid in stored and stored[tid] != wanted[tid]]
    if not new and not changed:
        return UpsertResult(0, 0, len(ids), event.ticket_seq, venue_id=event.venue_id)
    sequence = event.ticket_seq + 1
    conn.execute(
        update(events)
        .where(scope.tenant_filter(events.c.tenant_id), events.c.id == event_id)
        .values(ticket_seq=sequence)
    )
    if new:
        conn.execute(
            tickets.insert(),
            [
                {
                    "tenant_id": scope.tenant_id,
                    "event_id": event_id,
                    "id": tid,
                    "updated_seq": sequence,
                    "updated_at_ms": now_ms,
                    **wanted[tid],
                }
                for tid in new
            ],
        )
    if changed:
        conn.execute(
            update(tickets)
            .where(
                tickets.c.tenant_id == bindparam("b_tenant"),
                tickets.c.event_id == bindparam("b_event"),
                tickets.c.id == bindparam("b_id"),
            )
            .values({key: bindparam(f"v_{key}") for key in _values_keys()})
            .values(updated_seq=sequence, updated_at_ms=now_ms),
            [
                {
                    "b_tenant": scope.tenant_id,
                    "b_event": event_id,
                    "b_id": tid,
                    **{f"v_{key}": value for key, value in wanted[tid].items()},
                }
                for tid in changed
            ],
        )
    status_changes = tuple(
        StatusChange(
            tid,
            TicketStatus(str(stored[tid]["status"])),
            TicketStatus(str(wanted[tid]["status"])),
            None if wanted[tid]["transferred_to"] is None else str(wanted[tid]["transferred_to"]),
        )
        for tid in changed
        if (stored[tid]["status"], stored[tid]["transferred_to"])
        != (wanted[tid]["status"], wanted[tid]["transferred_to"])
    )
    return UpsertResult(
        len(new),
        len(changed),
        len(ids) - len(new) - len(changed),
        sequence,
        status_changes,
        event.venue_id,
    )


# A join, not ``IN`` lists (see `_stored`): a hash join with the event's tickets when
# the planner has no statistics yet, primary-key probes once it has.
_STORED_PG = text(
    "SELECT t.* FROM tickets AS t JOIN unnest(CAST(:ids AS varchar[])) AS wanted(id)"
    " ON t.id = wanted.id WHERE t.tenant_id = :tenant AND t.event_id = :event"
)


def _stored(
    scope: Scope, conn: Connection, event_id: str, ids: list[str]
) -> Iterator[Row[tuple[object, ...]]]:
    """The stored rows of these ids of the event.

    PostgreSQL gets one array instead of ``IN`` lists: right after a bulk import the
    table has no statistics yet (autovacuum analyzes it within a minute or so), the
    planner takes the event for one row, and compared every ticket of the event with
    every id of each list — an import of 100,000 tickets in calls of 10,000 took 1 s,
    11 s, 25 s… for its first calls, and the fourth hit the request timeout.
    """
    if conn.dialect.name == "postgresql":
        params = {"ids": ids, "tenant": scope.tenant_id, "event": event_id}
        yield from conn.execute(_STORED_PG, params)
        return
    for start in range(0, len(ids), _IN_CHUNK):
        yield from conn.execute(
            select(tickets).where(
                scope.tenant_filter(tickets.c.tenant_id),
                tickets.c.event_id == event_id,
                tickets.c.id.in_(ids[start : start + _IN_CHUNK]),
            )
        )


def _values_keys() -> tuple[str, ...]:
    return (
        "status",
        "zones",
        "valid_from_ms",
        "valid_until_ms",
        "transferred_to",
        "static_hash",
    )


def list_tickets(
    scope: Scope, conn: Connection, event_id: str, *, after: str | None = None, limit: int = 1000
) -> list[TicketRecord]:
    """One page of an event's tickets in id order, starting after ``after``."""
    get_event(scope, conn, event_id)
    query = select(tickets).where(
        scope.tenant_filter(tickets.c.tenant_id), tickets.c.event_id == event_id
    )
    if after is not None:
        query = query.where(tickets.c.id > after)
    rows = conn.execute(query.order_by(tickets.c.id).limit(limit)).all()
    return [_record(row) for row in rows]


def get_ticket(scope: Scope, conn: Connection, event_id: str, ticket_id: str) -> TicketRecord:
    """One ticket of an event; NotFound when the event or the ticket is not in the scope."""
    get_event(scope, conn, event_id)
    row = conn.execute(
        select(tickets).where(
            scope.tenant_filter(tickets.c.tenant_id),
            tickets.c.event_id == event_id,
            tickets.c.id == ticket_id,
        )
    ).first()
    if row is None:
        raise NotFound("ticket")
    return _record(row)


def tickets_changed_since(
    scope: Scope, conn: Connection, event_id: str, since_seq: int
) -> list[TicketRecord]:
    """Tickets whose last change is newer than ``since_seq`` (0: all), for manifest deltas."""
    get_event(scope, conn, event_id)
    rows = conn.execute(
        select(tickets)
        .where(
            scope.tenant_filter(tickets.c.tenant_id),
            tickets.c.event_id == event_id,
            tickets.c.updated_seq > since_seq,
        )
        .order_by(tickets.c.id)
    ).all()
    return [_record(row) for row in rows]


# One primary-key probe and lock per ticket, in the array's (sorted) order: the nested
# loop over unnest keeps it. Written as a LATERAL probe so that the plan does not depend
# on statistics — with an ``IN`` list on a table not analyzed yet, PostgreSQL read every
# ticket of the event through its other index (21 ms at 100,000 tickets, per batch).
_LOCK_TICKETS_PG = text(
    "SELECT t.id FROM unnest(CAST(:tickets AS varchar[])) AS wanted(id) CROSS JOIN LATERAL"
    " (SELECT id FROM tickets WHERE tenant_id = :tenant AND event_id = :event"
    "  AND id = wanted.id FOR UPDATE) AS t"
)


def lock_tickets(scope: Scope, conn: Connection, event_id: str, ticket_ids: list[str]) -> None:
    """Lock these tickets' rows until the transaction ends (PostgreSQL; SQLite needs
    nothing: one writer at a time). Whoever decides or counts admissions of a ticket —
    the scan writer, offline reconciliation — takes this first, so two instances judge
    the same ticket one after the other.

    Pass ``ticket_ids`` sorted and lock events in id order too: then two transactions
    locking overlapping sets never wait on each other in a cycle (should one still
    deadlock, PostgreSQL aborts it and the caller's retry decides again).
    """
    if conn.dialect.name != "postgresql":
        return
    params = {"tenant": scope.tenant_id, "event": event_id, "tickets": ticket_ids}
    conn.execute(_LOCK_TICKETS_PG, params).all()
