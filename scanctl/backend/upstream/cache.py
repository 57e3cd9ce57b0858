"""The upstream data cache: fresh for a TTL, then kept as the last good value.

An entry past its TTL (or invalidated) is not used as an answer while the service can
be asked; it is the fallback when the service cannot answer. Entries are bounded in
number (least recently stored go first), never in age: the last good value of a ticket
scanned hours ago is still worth more than a 503 during an outage.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Entry", "StaleCache"]

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Entry(Generic[V]):
    """A cached value (None: the service said "no such thing") and until when it is fresh."""

    value: V | None
    fresh_until_ms: int

    def fresh(self, now_ms: int) -> bool:
        return now_ms < self.fresh_until_ms


class StaleCache(Generic[V]):
    """A bounded map of entries that go stale after ``ttl_ms`` but stay as fallback."""

    def __init__(self, max_entries: int, ttl_ms: int, clock: Callable[[], int]) -> None:
        self.ttl_ms = ttl_ms
        self._max = max_entries
        self._clock = clock
        self._data: OrderedDict[Hashable, Entry[V]] = OrderedDict()
        self._lock = threading.Lock()  # readers run in the thread pool too

    def get(self, key: Hashable) -> Entry[V] | None:
        """The entry, fresh or stale, or None when the key was never stored."""
        return self._data.get(key)

    def put(self, key: Hashable, value: V | None, ttl_ms: int | None = None) -> None:
        """Store a value just fetched (fresh for ``ttl_ms``, default the cache's TTL)."""
        ttl = self.ttl_ms if ttl_ms is None else ttl_ms
        with self._lock:
            self._data[key] = Entry(value, self._clock() + ttl)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def expire(self, matches: Callable[[Hashable], bool]) -> int:
        """Make the matching entries stale now (kept as fallback); returns how many."""
        with self._lock:
            return self._stale([key for key in self._data if matches(key)])

    def expire_keys(self, keys: Iterable[Hashable]) -> int:
        """Make these entries stale now, without a pass over the whole cache (a change
        naming a few tickets reaches every instance); returns how many were stored."""
        with self._lock:
            return self._stale([key for key in dict.fromkeys(keys) if key in self._data])

    def _stale(self, keys: list[Hashable]) -> int:
        for key in keys:
            self._data[key] = Entry(self._data[key].value, 0)
        return len(keys)

    def __len__(self) -> int:
        return len(self._data)
