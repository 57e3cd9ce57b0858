"""`StaleCache`: fresh for a TTL, then kept as the fallback; bounded; expirable."""

from __future__ import annotations

from scanctl.backend.upstream.cache import StaleCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def test_entries_go_stale_but_stay() -> None:
    clock = Clock()
    cache: StaleCache[str] = StaleCache(10, 1_000, clock)
    cache.put("k", "v")
    entry = cache.get("k")
    assert entry is not None and entry.value == "v" and entry.fresh(clock())
    clock.now += 1_000
    entry = cache.get("k")
    assert entry is not None and entry.value == "v" and not entry.fresh(clock())
    assert cache.get("other") is None


def test_a_shorter_ttl_for_one_entry() -> None:
    clock = Clock()
    cache: StaleCache[str] = StaleCache(10, 60_000, clock)
    cache.put("gone", None, ttl_ms=10)
    clock.now += 11
    entry = cache.get("gone")
    assert entry is not None and entry.value is None and not entry.fresh(clock())


def test_the_oldest_stored_entries_go_first() -> None:
    clock = Clock()
    cache: StaleCache[int] = StaleCache(3, 1_000, clock)
    for key in range(5):
        cache.put(key, key)
    assert len(cache) == 3
    assert cache.get(0) is None and cache.get(1) is None
    cache.put(2, 20)  # stored again: now the newest
    cache.put(5, 5)
    assert cache.get(3) is None and cache.get(2) is not None


def test_expire_keeps_the_value_as_fallback() -> None:
    clock = Clock()
    cache: StaleCache[str] = StaleCache(10, 60_000, clock)
    cache.put(("t", "e", "a"), "A")
    cache.put(("t", "e", "b"), "B")
    cache.put(("t", "other", "a"), "C")
    assert cache.expire(lambda key: key[:2] == ("t", "e")) == 2  # type: ignore[index]
    a, c = cache.get(("t", "e", "a")), cache.get(("t", "other", "a"))
    assert a is not None and a.value == "A" and not a.fresh(clock())
    assert c is not None and c.fresh(clock())


def test_expire_keys_touches_only_the_named_stored_entries() -> None:
    clock = Clock()
    cache: StaleCache[str] = StaleCache(10, 60_000, clock)
    cache.put(("t", "e", "a"), "A")
    cache.put(("t", "e", "b"), "B")
    # Named twice, and a key never stored: counted once, and not stored.
    assert cache.expire_keys([("t", "e", "a"), ("t", "e", "a"), ("t", "e", "z")]) == 1
    a, b = cache.get(("t", "e", "a")), cache.get(("t", "e", "b"))
    assert a is not None and a.value == "A" and not a.fresh(clock())
    assert b is not None and b.fresh(clock())
    assert cache.get(("t", "e", "z")) is None and len(cache) == 2
