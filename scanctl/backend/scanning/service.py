"""`ScanService`: what the scan and QR routes call — cached lookups, keys, the writer.

The route does the cheap, read-only work (device, event, ticket, policy, keys — all
from `CatalogCache`, the database only on a miss), then hands a `ScanJob` to the
`ScanWriter`, which decides and records it. Misses read the database with short
read-only transactions; WAL readers never wait for the writer. With upstream ticket and
event services (`scanctl.backend.upstream`), the route first awaits `prepare`, and the
lookups of that tenant's events and tickets read what it fetched, from memory.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from starlette.concurrency import run_in_threadpool

from scanctl.backend import store
from scanctl.backend.db.engine import Database
from scanctl.backend.db.schema import events, tickets
from scanctl.backend.errors import NotFound
from scanctl.backend.scanning.cache import CatalogCache, DeviceFacts
from scanctl.backend.scanning.writer import ScanJob, ScanOutcome, ScanWriter
from scanctl.backend.settings import Settings
from scanctl.backend.upstream import UpstreamCatalog
from scanctl.core import (
    EventFacts,
    InvalidCode,
    ParsedCode,
    Policy,
    RotatingCode,
    StaticCode,
    TicketFacts,
    TicketStatus,
    derive_event_key,
    mint_token,
    new_nonce,
    verify_mac,
)

__all__ = ["DeviceFacts", "MintedCode", "ScanService", "TicketLookup", "default_policy"]

log = logging.getLogger("scanctl.backend.scanning")

# Built once: constructing a Core statement costs more than running it on SQLite.
_TICKET_COLUMNS = (
    tickets.c.id,
    tickets.c.event_id,
    tickets.c.status,
    tickets.c.zones,
    tickets.c.valid_from_ms,
    tickets.c.valid_until_ms,
    tickets.c.transferred_to,
)
_TICKET_BY_ID = select(*_TICKET_COLUMNS).where(
    tickets.c.tenant_id == bindparam("tenant"),
    tickets.c.event_id == bindparam("event"),
    tickets.c.id == bindparam("ticket"),
)
_TICKETS_PAGE = (
    select(*_TICKET_COLUMNS)
    .where(
        tickets.c.tenant_id == bindparam("tenant"),
        tickets.c.event_id == bindparam("event"),
        tickets.c.id > bindparam("after"),
    )
    .order_by(tickets.c.id)
    .limit(bindparam("limit"))
)
_WARM_PAGE = 10_000


def default_policy(settings: Settings) -> Policy:
    """The policy of events without their own: `Policy()` with the tenant-wide settings."""
    return Policy(
        duplicate_window_seconds=settings.duplicate_scan_window_seconds,
        qr_lifetime_seconds=settings.qr_expiration_seconds,
    )


@dataclass(frozen=True, slots=True)
class TicketLookup:
    """The ticket a code names (None: unknown) and why not, for the server log only."""

    ticket: TicketFacts | None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class MintedCode:
    """A fresh rotating token and when it stops being accepted."""

    token: str
    ticket_id: str
    event_id: str
    minted_at_ms: int
    expires_at_ms: int
    lifetime_s: int


class ScanService:
    """Cached reads for the scan path, the event keys, and the writer."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], int],
        *,
        hmac_secrets: tuple[str, ...],
        default_policy: Policy,
        upstream: UpstreamCatalog | None = None,
    ) -> None:
        self.db = database
        self.clock = clock
        # SQLite means one instance: every catalog write passes through this process and
        # invalidates at once, so the TTL only bounds memory. Elsewhere it bounds how long
        # another instance's write takes to arrive.
        self.cache = CatalogCache(clock, ttl_ms=300_000 if database.is_sqlite else 30_000)
        self.writer = ScanWriter(database, clock)
        self.default_policy = default_policy
        self._secrets = hmac_secrets
        self._keys: dict[tuple[str, str], tuple[bytes, ...]] = {}
        self._warming: set[tuple[str, str, int, int]] = set()
        self._warm_lock = threading.Lock()
        # Events and tickets of the upstream tenant come from the services (memory only
        # here: `prepare` fetched them); devices, policies and scans stay local.
        self.upstream = upstream
        if upstream is not None:
            upstream.on_event_copied = self.cache.invalidate_event

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer."""
        self.writer.start()

    def stop(self) -> None:
        """Drain and stop the writer."""
        self.writer.stop()

    async def record(self, job: ScanJob) -> ScanOutcome:
        """Decide and record one scan (durably) through the writer."""
        return await self.writer.submit(job)

    # -- keys -------------------------------------------------------------------------

    def event_keys(self, tenant_id: str, event_id: str) -> tuple[bytes, ...]:
        """The event's keys, current secret first, then HMAC_SECRET_PREVIOUS (rotation)."""
        key = (tenant_id, event_id)
        found = self._keys.get(key)
        if found is None:
            if len(self._keys) > 10_000:
                self._keys.clear()
            found = tuple(derive_event_key(s, tenant_id, event_id) for s in self._secrets)
            self._keys[key] = found
        return found

    def mint(self, tenant_id: str, ticket: TicketFacts, lifetime_s: int) -> MintedCode:
        """A fresh token for the ticket, signed with its event's current key."""
        now_ms = self.clock()
        token = mint_token(
            self.event_keys(tenant_id, ticket.event_id)[0], ticket.ticket_id, now_ms, new_nonce()
        )
        return MintedCode(
            token, ticket.ticket_id, ticket.event_id, now_ms, now_ms + lifetime_s * 1000, lifetime_s
        )

    # -- upstream services ------------------------------------------------------------

    async def prepare(self, tenant_id: str, event_id: str, code: ParsedCode) -> None:
        """Fetch from the upstream services what this scan's lookups will read (nothing for
        a tenant on the local catalog). Raises UpstreamUnavailable (503).

        Only a code whose MAC verifies with the key of this event (or of another event of
        the tenant this backend knows: WRONG_EVENT), or a static code whose hash is in the
        local copy of the tickets, costs a ticket request: forged or garbage codes never
        reach the ticket service.
        """
        upstream = self.upstream
        if upstream is None or not upstream.serves(tenant_id):
            return
        await upstream.ensure_event(tenant_id, event_id)
        if self.db.is_sqlite:  # local reads are cheaper than a thread hop (as in the route)
            wanted = self._upstream_ticket(tenant_id, event_id, code)
        else:
            wanted = await run_in_threadpool(self._upstream_ticket, tenant_id, event_id, code)
        if wanted is not None:
            await upstream.ensure_ticket(tenant_id, *wanted)

    async def prepare_ticket(self, tenant_id: str, event_id: str, ticket_id: str) -> None:
        """Fetch an upstream event and one of its tickets (QR generation). 503 as above."""
        upstream = self.upstream
        if upstream is None or not upstream.serves(tenant_id):
            return
        await upstream.ensure_event(tenant_id, event_id)
        if upstream.cached_event(tenant_id, event_id) is not None:
            await upstream.ensure_ticket(tenant_id, event_id, ticket_id)

    def upstream_fresh(self, tenant_id: str, event_id: str, code: ParsedCode) -> bool:
        """Whether `prepare` would return at once without asking a service (SQLite only:
        it may read the local event list)."""
        upstream = self.upstream
        if upstream is None or not upstream.serves(tenant_id):
            return True
        if not upstream.event_fresh(tenant_id, event_id):
            return False
        wanted = self._upstream_ticket(tenant_id, event_id, code)
        return wanted is None or upstream.ticket_fresh(tenant_id, *wanted)

    def _upstream_ticket(
        self, tenant_id: str, event_id: str, code: ParsedCode
    ) -> tuple[str, str] | None:
        """(event, ticket) whose ticket `lookup` will read for this code, or None."""
        assert self.upstream is not None
        if isinstance(code, InvalidCode):
            return None
        if self.upstream.cached_event(tenant_id, event_id) is None:
            return None  # no such event: the scan is refused before any ticket is read
        if isinstance(code, StaticCode):
            # As `lookup` does: the local copy names the ticket, the service tells its facts.
            named = self.static_ticket(tenant_id, code.secret_hash)
            return None if named is None else (named.event_id, named.ticket_id)
        if verify_mac(code, self.event_keys(tenant_id, event_id)):
            return event_id, code.ticket_id
        # As `lookup` does: a code of another event known here (copied locally) verifies
        # with that event's key, and its ticket makes the answer WRONG_EVENT.
        for other in self.tenant_event_ids(tenant_id):
            if other != event_id and verify_mac(code, self.event_keys(tenant_id, other)):
                return other, code.ticket_id
        return None

    # -- cached reads -----------------------------------------------------------------

    def device(self, tenant_id: str, device_id: str) -> DeviceFacts | None:
        """The registered device of the tenant (any venue), or None."""
        gen = self.cache.device_generation(tenant_id, device_id)
        return self.cache.devices.get_or_load(
            (tenant_id, device_id), gen, lambda: self._read_device(tenant_id, device_id)
        )

    def _read_device(self, tenant_id: str, device_id: str) -> DeviceFacts | None:
        scope = store.Scope.tenant_wide(tenant_id)
        try:
            with self.db.read(scope) as conn:
                record = store.get_device(scope, conn, device_id)
        except NotFound:
            return None
        active = record.status is store.DeviceStatus.ACTIVE
        return DeviceFacts(record.id, record.venue_id, record.zone, active)

    def event(self, tenant_id: str, event_id: str) -> EventFacts | None:
        """The tenant's event (any venue), or None."""
        if self.upstream is not None and self.upstream.serves(tenant_id):
            return self.upstream.cached_event(tenant_id, event_id)
        gen = self.cache.event_generation(tenant_id, event_id)
        return self.cache.events.get_or_load(
            (tenant_id, event_id), gen, lambda: self._read_event(tenant_id, event_id)
        )

    def _read_event(self, tenant_id: str, event_id: str) -> EventFacts | None:
        scope = store.Scope.tenant_wide(tenant_id)
        try:
            with self.db.read(scope) as conn:
                record = store.get_event(scope, conn, event_id)
        except NotFound:
            return None
        return record.facts()

    def policy(self, tenant_id: str, event_id: str) -> Policy:
        """The event's policy, or the service default."""
        gen = self.cache.event_generation(tenant_id, event_id)
        return self.cache.policies.get_or_load(
            (tenant_id, event_id), gen, lambda: self._read_policy(tenant_id, event_id)
        )

    def _read_policy(self, tenant_id: str, event_id: str) -> Policy:
        scope = store.Scope.tenant_wide(tenant_id)
        with self.db.read(scope) as conn:
            return store.get_policy(scope, conn, event_id, default=self.default_policy).policy

    def ticket(self, tenant_id: str, event_id: str, ticket_id: str) -> TicketFacts | None:
        """One ticket of an event, or None."""
        if self.upstream is not None and self.upstream.serves(tenant_id):
            return self.upstream.cached_ticket(tenant_id, event_id, ticket_id)
        gen = self.cache.event_generation(tenant_id, event_id)
        return self.cache.tickets.get_or_load(
            (tenant_id, event_id, ticket_id),
            gen,
            lambda: self._read_ticket(tenant_id, event_id, ticket_id, gen),
        )

    def _read_ticket(
        self, tenant_id: str, event_id: str, ticket_id: str, gen: int
    ) -> TicketFacts | None:
        # A miss: the rest of the event's tickets are probably wanted soon too.
        self._warm(tenant_id, event_id, gen)
        scope = store.Scope.tenant_wide(tenant_id)
        with self.db.read(scope) as conn:
            row = conn.execute(
                _TICKET_BY_ID, {"tenant": tenant_id, "event": event_id, "ticket": ticket_id}
            ).first()
        return None if row is None else _ticket_facts(row)

    def _warm(self, tenant_id: str, event_id: str, gen: int) -> None:
        """Load an event's whole ticket list into the cache in a thread (once per generation
        and TTL period).

        The first scans of an event would otherwise each pay a database read; meanwhile
        misses are still answered one by one. Entries carry the generation read before
        the load, so a catalog write during it leaves them stale-marked, never wrong.
        """
        # Once per generation and per TTL period: entries loaded earlier have expired.
        period = self.clock() // self.cache.ttl_ms
        marker = (tenant_id, event_id, gen, period)
        with self._warm_lock:
            if marker in self._warming:
                return
            if len(self._warming) > 10_000:
                self._warming.clear()
            self._warming.add(marker)
        threading.Thread(
            target=self._load_event_tickets,
            args=(tenant_id, event_id, gen),
            name="ticket-warmup",
            daemon=True,
        ).start()

    def _load_event_tickets(self, tenant_id: str, event_id: str, gen: int) -> None:
        scope = store.Scope.tenant_wide(tenant_id)
        after = ""
        try:
            while True:
                with self.db.read(scope) as conn:
                    rows = conn.execute(
                        _TICKETS_PAGE,
                        {
                            "tenant": tenant_id,
                            "event": event_id,
                            "after": after,
                            "limit": _WARM_PAGE,
                        },
                    ).all()
                put = self.cache.tickets.put
                for row in rows:
                    facts = _ticket_facts(row)
                    put((tenant_id, event_id, facts.ticket_id), gen, facts)
                if len(rows) < _WARM_PAGE:
                    # The cache now holds long-lived objects by the hundred thousand: left
                    # to the collector, every full collection walks them all (120-230 ms
                    # with the event loop stopped, measured at 100,000 tickets). Frozen,
                    # they are skipped; they are still freed by reference counting when
                    # the cache lets them go (TicketFacts hold no reference cycles).
                    gc.freeze()
                    return
                after = rows[-1]._mapping["id"]
        except Exception:  # a warm-up is an optimisation: misses still read one by one
            log.exception("could not warm the ticket cache of event %s", event_id)

    def tenant_event_ids(self, tenant_id: str) -> tuple[str, ...]:
        """Ids of every event of the tenant (for codes of another event)."""
        gen = self.cache.static_generation(tenant_id)
        return self.cache.tenant_events.get_or_load(
            tenant_id, gen, lambda: self._read_tenant_event_ids(tenant_id)
        )

    def _read_tenant_event_ids(self, tenant_id: str) -> tuple[str, ...]:
        scope = store.Scope.tenant_wide(tenant_id)
        with self.db.read(scope) as conn:
            query = select(events.c.id).where(events.c.tenant_id == tenant_id)
            return tuple(conn.execute(query).scalars())

    def static_ticket(self, tenant_id: str, secret_hash: str) -> TicketFacts | None:
        """The ticket whose static secret hashes to ``secret_hash``, in any event."""
        gen = self.cache.static_generation(tenant_id)
        return self.cache.static.get_or_load(
            (tenant_id, secret_hash), gen, lambda: self._read_static(tenant_id, secret_hash)
        )

    def _read_static(self, tenant_id: str, secret_hash: str) -> TicketFacts | None:
        scope = store.Scope.tenant_wide(tenant_id)
        with self.db.read(scope) as conn:
            row = conn.execute(
                select(tickets)
                .where(tickets.c.tenant_id == tenant_id, tickets.c.static_hash == secret_hash)
                .limit(1)
            ).first()
        return None if row is None else _facts(row._mapping)

    def lookup(self, tenant_id: str, event_id: str, code: ParsedCode) -> TicketLookup:
        """The ticket a scanned code names, looked up in the scanning event first.

        A rotating code for another event's ticket is found by trying the keys of the
        tenant's other events on its MAC (a handful of HMACs, no table scan), so a forged
        code with a random ticket id costs no more than a genuine one.
        """
        if isinstance(code, InvalidCode):
            return TicketLookup(None, f"bad format ({code.detail})")
        if isinstance(code, StaticCode):
            found = self.static_ticket(tenant_id, code.secret_hash)
            if found is not None and self.upstream is not None and self.upstream.serves(tenant_id):
                # The hash -> ticket index is the local copy of the upstream tickets (a
                # printed secret never changes), but the copy's status lags: the facts
                # are the ticket service's, as `prepare` fetched them.
                found = self.ticket(tenant_id, found.event_id, found.ticket_id)
            return TicketLookup(found, None if found else "unknown static code")
        assert isinstance(code, RotatingCode)
        found = self.ticket(tenant_id, event_id, code.ticket_id)
        if found is not None:
            return TicketLookup(found)
        for other in self.tenant_event_ids(tenant_id):
            if other != event_id and verify_mac(code, self.event_keys(tenant_id, other)):
                found = self.ticket(tenant_id, other, code.ticket_id)
                if found is not None:
                    return TicketLookup(found)
        return TicketLookup(None, "unknown ticket")

    def find_ticket(self, tenant_id: str, ticket_id: str, event_id: str | None) -> TicketFacts:
        """A ticket for QR generation: in the named event, or the only one with that id."""
        if event_id is not None:
            found = self.ticket(tenant_id, event_id, ticket_id)
            if found is None:
                raise NotFound("ticket")
            return found
        scope = store.Scope.tenant_wide(tenant_id)
        with self.db.read(scope) as conn:
            rows = conn.execute(
                select(tickets)
                .where(tickets.c.tenant_id == tenant_id, tickets.c.id == ticket_id)
                .limit(2)
            ).all()
        if not rows:
            raise NotFound("ticket")
        if len(rows) > 1:
            raise store_conflict()
        return _facts(rows[0]._mapping)


def store_conflict() -> Exception:
    from scanctl.backend.errors import Conflict

    return Conflict("the ticket id exists in several events: name the event (eventId)")


@functools.lru_cache(maxsize=1024)
def _zones(text: str) -> frozenset[str]:
    """A ticket's zones (JSON text): tickets of an event share a handful of zone lists."""
    return frozenset(json.loads(text))


def _ticket_facts(row: Any) -> TicketFacts:
    """TicketFacts of a row of `_TICKET_COLUMNS`, by position (the warm-up makes 100,000)."""
    ticket_id, event_id, status, zones, valid_from_ms, valid_until_ms, transferred_to = row
    return TicketFacts(
        ticket_id=str(ticket_id),
        event_id=str(event_id),
        status=TicketStatus(str(status)),
        zones=_zones(str(zones)),
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
        transferred_to=transferred_to,
    )


def _facts(m: object) -> TicketFacts:
    mapping: dict[str, object] = dict(m)  # type: ignore[call-overload]
    return TicketFacts(
        ticket_id=str(mapping["id"]),
        event_id=str(mapping["event_id"]),
        status=TicketStatus(str(mapping["status"])),
        zones=frozenset(json.loads(str(mapping["zones"]))),
        valid_from_ms=mapping["valid_from_ms"],  # type: ignore[arg-type]
        valid_until_ms=mapping["valid_until_ms"],  # type: ignore[arg-type]
        transferred_to=mapping["transferred_to"],  # type: ignore[arg-type]
    )
