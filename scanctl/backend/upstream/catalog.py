"""`UpstreamCatalog`: events and tickets of the upstream services, cached, with fallback.

The scan path stays synchronous and never waits on the network inside a lookup: the
route first awaits `ensure_event` / `ensure_ticket` (which fetch what is not fresh),
then the lookups read `cached_event` / `cached_ticket` from memory. A fresh entry
answers at once; a stale one is refreshed, and kept as the answer when the service
fails; with nothing to fall back on, `UpstreamUnavailable` (503) rather than a wrong
INVALID. Concurrent misses of one key share a single request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from scanctl.backend.upstream.cache import StaleCache
from scanctl.backend.upstream.client import ServiceClient
from scanctl.backend.upstream.errors import UpstreamCallFailed, UpstreamUnavailable
from scanctl.backend.upstream.metrics import UpstreamMetrics
from scanctl.backend.upstream.mirror import EventMirror
from scanctl.backend.upstream.models import (
    TicketPage,
    UpstreamEvent,
    parse_event,
    parse_ticket,
    parse_ticket_page,
)
from scanctl.core import EventFacts, TicketFacts

__all__ = ["NOT_FOUND_TTL_MS", "UpstreamCatalog"]

log = logging.getLogger("scanctl.backend.upstream")

NOT_FOUND_TTL_MS = 30_000
"""How long "no such ticket/event" is believed: a ticket sold a minute ago must scan."""

T = TypeVar("T")


class UpstreamCatalog:
    """The tenant's events and tickets from the event and ticket services."""

    def __init__(
        self,
        tenant_id: str,
        *,
        events: ServiceClient,
        tickets: ServiceClient,
        mirror: EventMirror,
        clock: Callable[[], int],
        event_ttl_ms: int,
        ticket_ttl_ms: int,
        metrics: UpstreamMetrics,
    ) -> None:
        self.tenant_id = tenant_id
        self._events_client = events
        self._tickets_client = tickets
        self._mirror = mirror
        self._clock = clock
        self._metrics = metrics
        self.events: StaleCache[EventFacts] = StaleCache(10_000, event_ttl_ms, clock)
        self.tickets: StaleCache[TicketFacts] = StaleCache(200_000, ticket_ttl_ms, clock)
        self._mirrored: dict[tuple[str, str], UpstreamEvent] = {}
        self._synced_at: dict[tuple[str, str], int] = {}
        self._inflight: dict[Hashable, asyncio.Future[object]] = {}
        self.on_event_copied: Callable[[str, str], None] = lambda tenant, event: None
        """Called after an event or some of its tickets were (re)written locally (the
        service drops cached views)."""

    def serves(self, tenant_id: str) -> bool:
        """Whether the tenant's catalog comes from the services."""
        return tenant_id == self.tenant_id

    def breaker_states(self) -> dict[str, str]:
        """Each service's circuit breaker: closed, half-open or open."""
        return {
            client.name: client.breaker_state()
            for client in (self._events_client, self._tickets_client)
        }

    async def aclose(self) -> None:
        """Close both clients."""
        await self._events_client.aclose()
        await self._tickets_client.aclose()

    # -- synchronous reads (memory only) -----------------------------------------------

    def cached_event(self, tenant_id: str, event_id: str) -> EventFacts | None:
        """The event as last fetched (fresh or not), or None (unknown, or never fetched)."""
        entry = self.events.get((tenant_id, event_id))
        return None if entry is None else entry.value

    def cached_ticket(self, tenant_id: str, event_id: str, ticket_id: str) -> TicketFacts | None:
        """The ticket as last fetched (fresh or not), or None (unknown, or never fetched)."""
        entry = self.tickets.get((tenant_id, event_id, ticket_id))
        return None if entry is None else entry.value

    def event_fresh(self, tenant_id: str, event_id: str) -> bool:
        """Whether the event can be read without asking the service."""
        entry = self.events.get((tenant_id, event_id))
        return entry is not None and entry.fresh(self._clock())

    def ticket_fresh(self, tenant_id: str, event_id: str, ticket_id: str) -> bool:
        """Whether the ticket can be read without asking the service."""
        entry = self.tickets.get((tenant_id, event_id, ticket_id))
        return entry is not None and entry.fresh(self._clock())

    # -- fetching ------------------------------------------------------------------------

    async def ensure_event(self, tenant_id: str, event_id: str) -> None:
        """Make `cached_event` answer for the event: fresh, or the last good value.

        Raises UpstreamUnavailable when the service fails and the event was never seen
        (neither in memory nor in the local copy).
        """
        key = (tenant_id, event_id)
        entry = self.events.get(key)
        if entry is not None and entry.fresh(self._clock()):
            self._looked_up("event", "hit")
            return
        try:
            await self._once(("event", *key), lambda: self._fetch_event(tenant_id, event_id))
        except UpstreamCallFailed as exc:
            if entry is None:
                copy = await run_in_threadpool(self._mirror.read, tenant_id, event_id)
                if copy is None:
                    self._looked_up("event", "unavailable")
                    raise UpstreamUnavailable("event", f"event {event_id}") from exc
                self.events.put(key, copy, ttl_ms=0)  # stale at once: ask again next time
            self._looked_up("event", "fallback")
            log.debug("event %s: serving the last good data (%s)", event_id, exc)
            return
        self._looked_up("event", "miss")

    async def ensure_ticket(self, tenant_id: str, event_id: str, ticket_id: str) -> None:
        """Make `cached_ticket` answer for the ticket: fresh, or the last good value.

        Raises UpstreamUnavailable when the service fails and the ticket was never fetched.
        """
        key = (tenant_id, event_id, ticket_id)
        entry = self.tickets.get(key)
        if entry is not None and entry.fresh(self._clock()):
            self._looked_up("ticket", "hit")
            return
        try:
            await self._once(("ticket", *key), lambda: self._fetch_ticket(key))
        except UpstreamCallFailed as exc:
            if entry is None:
                # Never fetched one by one; perhaps copied with its event's ticket list.
                copy = await run_in_threadpool(self._mirror.read_ticket, *key)
                if copy is None:
                    self._looked_up("ticket", "unavailable")
                    raise UpstreamUnavailable("ticket", f"ticket {ticket_id}") from exc
                self.tickets.put(key, copy, ttl_ms=0)
            self._looked_up("ticket", "fallback")
            log.debug("ticket %s: serving the last good data (%s)", ticket_id, exc)
            return
        self._looked_up("ticket", "miss")

    async def sync_tickets(self, tenant_id: str, event_id: str) -> bool:
        """Copy the event's whole ticket list into the local catalog (offline manifests are
        built from it), at most once per ticket TTL unless invalidated; the pages refresh
        the memory cache too. False when the service failed part way: what was copied
        stays, and the local copy (the last good list) is what manifests carry.
        """
        key = (tenant_id, event_id)
        last = self._synced_at.get(key)
        if last is not None and self._clock() - last < self.tickets.ttl_ms:
            return True
        try:
            await self._once(("sync", *key), lambda: self._sync(tenant_id, event_id))
        except UpstreamCallFailed as exc:
            log.warning("event %s: ticket list not copied (%s); using the last copy", event_id, exc)
            return False
        return True

    async def _sync(self, tenant_id: str, event_id: str) -> object:
        started = self._clock()
        after: str | None = None
        while True:
            query = "limit=1000" if after is None else f"limit=1000&after={after}"
            page = await self._tickets_client.get(
                f"/api/catalog/events/{event_id}/tickets?{query}",
                functools.partial(parse_ticket_page, event_id=event_id, after=after),
            )
            if page is None:  # the service does not know the event (any more)
                return None
            await self._copy_page(tenant_id, event_id, page)
            if page.next is None:
                self._synced_at[(tenant_id, event_id)] = started
                return None
            after = page.next

    async def _copy_page(self, tenant_id: str, event_id: str, page: TicketPage) -> None:
        if page.tickets:
            await run_in_threadpool(self._mirror.write_tickets, tenant_id, event_id, page)
            # Static codes are found by their hash in the copy: drop "unknown" remembered.
            self.on_event_copied(tenant_id, event_id)
        for facts, _hash in page.tickets:
            self.tickets.put((tenant_id, event_id, facts.ticket_id), facts)

    def invalidate(self, tenant_id: str, event_id: str, ticket_ids: list[str] | None) -> int:
        """The services changed these (or, with None, all of the event's tickets and the
        event itself): ask again before using them; the old values stay as fallback."""
        if ticket_ids is None:
            self._synced_at.pop((tenant_id, event_id), None)
            count = self.events.expire(lambda key: key == (tenant_id, event_id))
            return count + self.tickets.expire(
                lambda key: isinstance(key, tuple) and key[:2] == (tenant_id, event_id)
            )
        return self.tickets.expire_keys((tenant_id, event_id, t) for t in ticket_ids)

    def expire_all(self) -> None:
        """Ask again for everything before its next use (changes may have been missed:
        `sharedstate.InvalidationBus` lost its subscription); old values stay as fallback."""
        self._synced_at.clear()
        self.events.expire(lambda _key: True)
        self.tickets.expire(lambda _key: True)

    def _looked_up(self, kind: str, result: str) -> None:
        self._metrics.cache.labels(kind, result).inc()

    async def _once(self, key: Hashable, fetch: Callable[[], Awaitable[object]]) -> object:
        """Run ``fetch`` once for concurrent callers of one key.

        The shared task is shielded: a scan whose client went away does not cancel the
        fetch the others wait for.
        """
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: Hashable, task: asyncio.Future[object]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have gone away

    async def _fetch_event(self, tenant_id: str, event_id: str) -> object:
        event = await self._events_client.get(
            f"/api/catalog/events/{event_id}", lambda doc: parse_event(doc, tenant_id, event_id)
        )
        key = (tenant_id, event_id)
        if event is None:
            self.events.put(key, None, ttl_ms=min(NOT_FOUND_TTL_MS, self.events.ttl_ms))
            return None
        # Before the event is usable: a scan recorded against it needs the local row.
        changed = self._mirrored.get(key) != event
        if changed and await run_in_threadpool(self._mirror.write, tenant_id, event):
            self._mirrored[key] = event
            self.on_event_copied(tenant_id, event_id)
        self.events.put(key, event.facts)
        return event

    async def _fetch_ticket(self, key: tuple[str, str, str]) -> object:
        _tenant, event_id, ticket_id = key
        ticket = await self._tickets_client.get(
            f"/api/catalog/events/{event_id}/tickets/{ticket_id}",
            lambda doc: parse_ticket(doc, event_id, ticket_id),
        )
        if ticket is None:
            self.tickets.put(key, None, ttl_ms=min(NOT_FOUND_TTL_MS, self.tickets.ttl_ms))
        else:
            self.tickets.put(key, ticket)
        return ticket
