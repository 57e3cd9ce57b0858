"""In-process cache of what every scan reads: events, tickets, policies, devices.

Scans read catalog data far more often than anyone writes it, so the hot path reads
from memory. Correctness does not rest on the cache: history and nonces are read inside
the writer's transaction, never from here. Writes through this process invalidate at
once (`invalidate_event`, `invalidate_device`, `invalidate_tenant`, called by the
catalog, policy and device routes); every entry also expires after ``ttl_ms`` (30 s
when several instances share a database, 5 min on single-instance SQLite) so that
writes made by another instance reach this one within that bound. Device entries live
shorter (``device_ttl_ms``): a revocation elsewhere must bite quickly.

With Redis (REDIS_URL), `invalidate` also publishes the bump and every instance applies
it (`sharedstate.InvalidationBus`), so the TTL is only the fallback while Redis is down;
events, policies and tickets get a second level in Redis (`TtlCache.second`), asked on
a miss in memory before the database.
Hits and misses are counted per cache for `/metrics` (plain integers: a lost increment
under a thread race skews a ratio by nothing, a lock would cost every scan).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from scanctl.core import EventFacts, Policy, TicketFacts

if TYPE_CHECKING:
    from scanctl.backend.state import BackendState

__all__ = [
    "CacheMiss",
    "CatalogCache",
    "DeviceFacts",
    "SecondLevel",
    "TtlCache",
    "invalidate",
    "memory_only",
]

V = TypeVar("V")

_memory_only: ContextVar[bool] = ContextVar("scanctl_cache_memory_only", default=False)


class CacheMiss(LookupError):
    """A read under `memory_only()` that this process's memory cannot answer."""


@contextmanager
def memory_only() -> Iterator[None]:
    """Cached reads within answer from this process's memory or raise CacheMiss.

    For the event loop, which must not wait on Redis or the database: it tries the
    scan's reads here and hops to a thread only on a miss. Hits are counted as usual;
    the reads the thread then repeats are counted again (a skew only on misses).
    """
    token = _memory_only.set(True)
    try:
        yield
    finally:
        _memory_only.reset(token)


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the scan path needs of a registered device."""

    id: str
    venue_id: str
    zone: str | None
    active: bool


class SecondLevel(Protocol):
    """A shared cache behind this process's memory (Redis: `sharedstate.SharedLevel`)."""

    def get(self, key: Hashable) -> tuple[bool, object]:
        """(True, value) when it has the key, else (False, None)."""

    def put(self, key: Hashable, value: object) -> None:
        """Remember a value read from the database after a `get` miss."""


class TtlCache(Generic[V]):
    """A bounded LRU map whose entries carry an expiry and the generation they were read at."""

    def __init__(self, max_entries: int, ttl_ms: int, clock: Callable[[], int]) -> None:
        self.hits = 0
        self.misses = 0
        self.second: SecondLevel | None = None
        """Asked on a miss in memory, told of every value read from the database."""
        self._max = max_entries
        self._ttl = ttl_ms
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[int, int, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: int) -> tuple[bool, V | None]:
        """(True, value) on a fresh hit of this generation; (False, None) otherwise."""
        entry = self._data.get(key)
        if entry is not None:
            expires, gen, value = entry
            if gen == generation and expires >= self._clock():
                self.hits += 1
                return True, value
        if _memory_only.get():
            raise CacheMiss(key)
        self.misses += 1
        if self.second is not None:
            found, shared = self.second.get(key)
            if found:
                # Kept at the generation the caller read before asking: a local write
                # meanwhile leaves it stale-marked, as for a database read.
                self._remember(key, generation, shared)  # type: ignore[arg-type]
                return True, shared  # type: ignore[return-value]
        return False, None

    def get_or_load(self, key: Hashable, generation: int, load: Callable[[], V]) -> V:
        """The fresh value of this generation, else ``load()``'s, remembered at it.

        The caller reads ``generation`` before anything is loaded, so a write that
        lands during the load leaves the entry stale-marked, never wrong. Under
        `memory_only()` a miss raises CacheMiss instead of asking anyone.
        """
        hit, value = self.get(key, generation)
        if hit:
            return value  # type: ignore[return-value]
        loaded = load()
        self.put(key, generation, loaded)
        return loaded

    def put(self, key: Hashable, generation: int, value: V) -> None:
        """Remember a value read at ``generation`` (and share it); least recent goes first."""
        self._remember(key, generation, value)
        if self.second is not None:
            self.second.put(key, value)

    def _remember(self, key: Hashable, generation: int, value: V) -> None:
        with self._lock:
            self._data[key] = (self._clock() + self._ttl, generation, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()


class CatalogCache:
    """Generations per (tenant, event) and per tenant; bumping one invalidates its entries.

    A value read from the database is stored with the generation current *before* the
    read started, so a write that lands during the read leaves a stale-marked entry.
    """

    def __init__(
        self,
        clock: Callable[[], int],
        *,
        ttl_ms: int = 30_000,
        device_ttl_ms: int = 2_000,
        max_tickets: int = 200_000,
    ) -> None:
        self.ttl_ms = ttl_ms
        self.events: TtlCache[EventFacts | None] = TtlCache(10_000, ttl_ms, clock)
        self.policies: TtlCache[Policy] = TtlCache(10_000, ttl_ms, clock)
        self.tickets: TtlCache[TicketFacts | None] = TtlCache(max_tickets, ttl_ms, clock)
        self.static: TtlCache[TicketFacts | None] = TtlCache(max_tickets, ttl_ms, clock)
        self.tenant_events: TtlCache[tuple[str, ...]] = TtlCache(1_000, ttl_ms, clock)
        self.devices: TtlCache[DeviceFacts | None] = TtlCache(10_000, device_ttl_ms, clock)
        self._event_gen: dict[tuple[str, str], int] = {}
        self._tenant_gen: dict[str, int] = {}
        self._device_gen: dict[tuple[str, str], int] = {}
        # Bumped by `flush()`: an entry read before a flush can never be served after it.
        self._epoch = 0
        self._lock = threading.Lock()

    def caches(self) -> dict[str, TtlCache[Any]]:
        """Every cache by name (for the hit and miss counts in `/metrics`)."""
        return {
            "events": self.events,
            "policies": self.policies,
            "tickets": self.tickets,
            "static": self.static,
            "tenant_events": self.tenant_events,
            "devices": self.devices,
        }

    def event_generation(self, tenant_id: str, event_id: str) -> int:
        """Generation of an event's data (event row, tickets, policy) and of its tenant."""
        return self._event_gen.get((tenant_id, event_id), 0) + self.tenant_generation(tenant_id)

    def tenant_generation(self, tenant_id: str) -> int:
        """Generation of tenant-wide data (event list, static-code index)."""
        return (self._tenant_gen.get(tenant_id, 0) << 32) + (self._epoch << 48)

    def device_generation(self, tenant_id: str, device_id: str) -> int:
        """Generation of one device's registration."""
        return self._device_gen.get((tenant_id, device_id), 0) + (self._epoch << 48)

    def flush(self) -> None:
        """Forget everything (invalidations may have been missed while Redis was away)."""
        with self._lock:
            self._epoch += 1
        for cache in self.caches().values():
            cache.clear()

    def invalidate_event(self, tenant_id: str, event_id: str) -> None:
        """The event, its tickets or its policy changed (also drops tenant-wide views)."""
        with self._lock:
            key = (tenant_id, event_id)
            self._event_gen[key] = self._event_gen.get(key, 0) + 1
            self._tenant_gen_bump_static(tenant_id)

    def _tenant_gen_bump_static(self, tenant_id: str) -> None:
        # The static-code index and the event list span events: they follow the tenant's
        # own counter, kept in a separate key space so event entries survive.
        key = (tenant_id, "\0static")
        self._event_gen[key] = self._event_gen.get(key, 0) + 1

    def static_generation(self, tenant_id: str) -> int:
        """Generation of the tenant's cross-event views (static codes, event list)."""
        return self._event_gen.get((tenant_id, "\0static"), 0) + self.tenant_generation(tenant_id)

    def invalidate_tenant(self, tenant_id: str) -> None:
        """Anything of the tenant may have changed."""
        with self._lock:
            self._tenant_gen[tenant_id] = self._tenant_gen.get(tenant_id, 0) + 1

    def invalidate_device(self, tenant_id: str, device_id: str) -> None:
        """A device was registered again or revoked."""
        with self._lock:
            key = (tenant_id, device_id)
            self._device_gen[key] = self._device_gen.get(key, 0) + 1


def invalidate(
    state: BackendState,
    tenant_id: str,
    *,
    event_id: str | None = None,
    device_id: str | None = None,
) -> None:
    """Called by the routes that write catalog, policy or device data.

    Here at once; at the other instances through Redis when it is configured.
    """
    cache = state.scans.cache
    shared = state.shared
    if event_id is not None:
        cache.invalidate_event(tenant_id, event_id)
        if shared is not None:
            shared.invalidated("event", tenant_id, event_id)
    if device_id is not None:
        cache.invalidate_device(tenant_id, device_id)
        if shared is not None:
            shared.invalidated("device", tenant_id, device_id)
