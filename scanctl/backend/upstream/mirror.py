"""Upstream events and tickets copied into this backend's own catalog tables.

Scans and policies stay in this backend's database and refer to their event there (a
foreign key), so an event fetched from the event service is written locally before
any scan of it is recorded. An event's ticket list is copied when a device pulls its
offline manifest (manifests are built from the local tables, deltas included). The
copies are also the fallback of last resort: after a restart during an outage, what
was seen before is still known.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from scanctl.backend import store
from scanctl.backend.db.engine import Database
from scanctl.backend.errors import NotFound, StoreError
from scanctl.backend.upstream.models import TicketPage, UpstreamEvent
from scanctl.core import EventFacts, TicketFacts

__all__ = ["EventMirror"]

log = logging.getLogger("scanctl.backend.upstream")


class EventMirror:
    """Writes upstream events into the local events table and reads them back."""

    def __init__(self, database: Database, clock_ms: Callable[[], int]) -> None:
        self._db = database
        self._clock = clock_ms

    def write(self, tenant_id: str, event: UpstreamEvent) -> bool:
        """Create or update the local copy; False (logged) when the database refuses it."""
        scope = store.Scope.tenant_wide(tenant_id)
        facts = event.facts
        now = self._clock()
        try:
            with self._db.write(scope) as conn:
                store.upsert_event(
                    scope,
                    conn,
                    event_id=facts.event_id,
                    venue_id=facts.venue_id,
                    name=event.name,
                    starts_at_ms=facts.starts_at_ms,
                    ends_at_ms=facts.ends_at_ms,
                    now_ms=now,
                )
        except StoreError as exc:  # e.g. the service moved the event to another venue
            log.error("cannot copy upstream event %s: %s", facts.event_id, exc)
            return False
        return True

    def write_tickets(self, tenant_id: str, event_id: str, page: TicketPage) -> None:
        """Upsert a page of the event's tickets (unchanged ones stay: no manifest delta)."""
        scope = store.Scope.tenant_wide(tenant_id)
        batch = [
            store.TicketInput(
                id=facts.ticket_id,
                status=facts.status,
                zones=tuple(sorted(facts.zones)),
                valid_from_ms=facts.valid_from_ms,
                valid_until_ms=facts.valid_until_ms,
                transferred_to=facts.transferred_to,
                static_hash=static_hash,
            )
            for facts, static_hash in page.tickets
        ]
        now_ms = self._clock()
        with self._db.write(scope) as conn:
            result = store.upsert_tickets(scope, conn, event_id, batch, now_ms=now_ms)
            # The ticket service made the change: it is named as the actor.
            store.audit_status_changes(
                scope,
                conn,
                event_id=event_id,
                venue_id=result.venue_id,
                changes=result.status_changes,
                actor=store.AuditActor("ticket-service", "service", "SYSTEM"),
                at_ms=now_ms,
            )

    def read_ticket(self, tenant_id: str, event_id: str, ticket_id: str) -> TicketFacts | None:
        """The local copy of a ticket, or None."""
        scope = store.Scope.tenant_wide(tenant_id)
        try:
            with self._db.read(scope) as conn:
                record = store.get_ticket(scope, conn, event_id, ticket_id)
        except NotFound:
            return None
        return record.facts()

    def read(self, tenant_id: str, event_id: str) -> EventFacts | None:
        """The local copy, or None."""
        scope = store.Scope.tenant_wide(tenant_id)
        try:
            with self._db.read(scope) as conn:
                record = store.get_event(scope, conn, event_id)
        except NotFound:
            return None
        return record.facts()
