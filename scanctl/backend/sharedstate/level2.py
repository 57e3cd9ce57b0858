"""`SharedLevel`: the second level of a catalog cache, in Redis, shared by every instance.

An instance that misses in memory asks Redis before the database, so one instance's
read serves the others (and a new instance starts warm). Coherence without races:
each (tenant, event) has a *generation* counter in Redis, bumped by every write to the
event's data (`SharedState.invalidated`). Values live under keys that contain the
generation they were read at, and a reader learns the generation *before* it reads
the database: a value read before a write can only land under the old generation,
which nobody reads any more. Values expire after the cache's TTL, like the first level.

The generation and the value are fetched in one round trip by a small Lua script that
builds the value's key from the generation (so this needs one Redis, or a sentinel
set-up; not a Redis Cluster).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from scanctl.backend.sharedstate.keys import KeySpace
from scanctl.backend.sharedstate.link import RedisLink
from scanctl.backend.sharedstate.values import UNREADABLE, Codec

__all__ = ["SharedLevel"]

_GET = """
local g = redis.call('GET', KEYS[1]) or '0'
return {g, redis.call('GET', ARGV[1] .. g .. ARGV[2])}
"""
_MAX_PENDING = 50_000  # reads between a miss and its put; bounded against leaks
_MISSING = (False, None)


class SharedLevel:
    """One cache's second level: keys are (tenant, event) or (tenant, event, ticket)."""

    def __init__(self, link: RedisLink, keys: KeySpace, name: str, codec: Codec, ttl_ms: int):
        self.link = link
        self.keys = keys
        self.name = name
        self.encode, self.decode = codec
        self.ttl_ms = ttl_ms
        self.hits = 0
        self.misses = 0
        self._script = link.client.register_script(_GET)
        # The generation each pending miss saw, until its value is put.
        self._seen: dict[Hashable, bytes] = {}
        self._lock = threading.Lock()

    def _split(self, key: Hashable) -> tuple[str, str, str] | None:
        if not isinstance(key, tuple) or not all(isinstance(part, str) for part in key):
            return None
        if len(key) == 2:
            return key[0], key[1], self.name
        if len(key) == 3:
            return key[0], key[1], f"{self.name}:{key[2]}"
        return None

    def get(self, key: Hashable) -> tuple[bool, object]:
        """(True, value) from Redis, or (False, None): then read the database and `put`."""
        parts = self._split(key)
        if parts is None:
            return _MISSING
        tenant, event, field = parts
        prefix = self.keys.catalog_value_prefix(tenant, event)
        answer: Any = self.link.run(
            lambda _client: self._script(
                keys=[self.keys.catalog_generation(tenant, event)], args=[prefix, f":{field}"]
            ),
            None,
        )
        if not isinstance(answer, list) or len(answer) != 2:
            return _MISSING
        generation, raw = answer
        if raw is not None:
            value = self.decode(raw)
            if value is not UNREADABLE:
                self.hits += 1
                return True, value
        self.misses += 1
        with self._lock:
            if len(self._seen) >= _MAX_PENDING:
                self._seen.clear()
            self._seen[key] = generation
        return _MISSING

    def put(self, key: Hashable, value: object) -> None:
        """Share a value read from the database after a `get` miss (others are not shared)."""
        with self._lock:
            generation = self._seen.pop(key, None)
        parts = self._split(key)
        if generation is None or parts is None:
            return
        tenant, event, field = parts
        name = f"{self.keys.catalog_value_prefix(tenant, event)}{generation.decode()}:{field}"
        raw = self.encode(value)
        self.link.run(lambda client: client.set(name, raw, px=self.ttl_ms), None)
