"""The upstream events this backend scans for, copied into its own events table.

Scans and policies stay in this backend's database and refer to their event there (a
foreign key), so an event fetched from the event service is written locally before
any scan of it is recorded. The copy is also the fallback of last resort: after a
restart during an outage, events scanned before are still known.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from scanctl.backend import store
from scanctl.backend.db.engine import Database
from scanctl.backend.errors import NotFound, StoreError
from scanctl.backend.upstream.models import UpstreamEvent
from scanctl.core import EventFacts

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

    def read(self, tenant_id: str, event_id: str) -> EventFacts | None:
        """The local copy, or None."""
        scope = store.Scope.tenant_wide(tenant_id)
        try:
            with self._db.read(scope) as conn:
                record = store.get_event(scope, conn, event_id)
        except NotFound:
            return None
        return EventFacts(
            record.id, tenant_id, record.venue_id, record.starts_at_ms, record.ends_at_ms
        )
