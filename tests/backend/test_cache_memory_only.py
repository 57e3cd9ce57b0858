"""memory_only(): the event loop's cached reads answer from memory or say they cannot."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from scanctl.backend.scanning.cache import CacheMiss, TtlCache, memory_only


class SharedLevel:
    """A second level that records who asked it (Redis in production)."""

    def __init__(self) -> None:
        self.values: dict[Hashable, object] = {"shared": "from redis"}
        self.asked: list[Hashable] = []

    def get(self, key: Hashable) -> tuple[bool, object]:
        self.asked.append(key)
        return (key in self.values), self.values.get(key)

    def put(self, key: Hashable, value: object) -> None:
        self.values[key] = value


def make_cache() -> tuple[TtlCache[object], SharedLevel]:
    cache: TtlCache[object] = TtlCache(100, ttl_ms=1_000, clock=lambda: 0)
    cache.second = shared = SharedLevel()
    return cache, shared


def test_a_fresh_entry_is_answered_from_memory() -> None:
    cache, shared = make_cache()
    cache.put("device", 1, "facts")
    with memory_only():
        assert cache.get_or_load("device", 1, lambda: pytest.fail("loaded")) == "facts"
    assert shared.asked == []


@pytest.mark.parametrize("key, generation", [("absent", 1), ("device", 2), ("shared", 1)])
def test_a_miss_raises_without_asking_redis_or_loading(key: str, generation: int) -> None:
    cache, shared = make_cache()
    cache.put("device", 1, "facts")
    loads: list[str] = []
    with memory_only(), pytest.raises(CacheMiss):
        cache.get_or_load(key, generation, lambda: loads.append(key))
    assert (loads, shared.asked) == ([], [])


def test_outside_memory_only_a_miss_asks_redis_then_loads() -> None:
    cache, shared = make_cache()
    assert cache.get_or_load("shared", 1, lambda: "from the database") == "from redis"
    assert cache.get_or_load("absent", 1, lambda: "from the database") == "from the database"
    assert shared.asked == ["shared", "absent"]
    with memory_only():  # both are in memory now
        assert cache.get_or_load("absent", 1, lambda: "again") == "from the database"
