"""The Redis pieces on their own, against a private redis-server: link, limits, bus, codec."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.ratelimit import RateLimits
from scanctl.backend.scanning.cache import CatalogCache
from scanctl.backend.sharedstate import Invalidation, RedisLink, SharedState
from scanctl.backend.sharedstate.codec import (
    MAX_TICKETS,
    decode_admission,
    decode_invalidation,
    encode_admission,
    encode_invalidation,
)
from scanctl.backend.sharedstate.values import CODECS, UNREADABLE
from scanctl.core import Direction, EventFacts, PastScan, Policy, TicketFacts, TicketStatus
from tests.backend.helpers import wait_for
from tests.backend.redis_kit import PrivateRedis, redis_server

__all__ = ["redis_server"]  # the fixture, used below


def _clock() -> int:
    return int(time.time() * 1000)


# -- what travels through Redis: strict decoding ----------------------------------------

texts = st.text(max_size=40)


@given(st.builds(PastScan, st.integers(0, 2**53 - 1), texts, st.sampled_from(Direction), texts))
def test_an_admission_survives_the_trip(past: PastScan) -> None:
    assert decode_admission(encode_admission(past)) == past
    assert decode_admission(encode_admission(past).encode()) == past


@given(
    st.builds(
        Invalidation,
        st.text(min_size=1, max_size=20),
        st.sampled_from(["event", "device"]),
        st.text(min_size=1, max_size=40),
        st.text(min_size=1, max_size=40),
    )
)
def test_an_invalidation_survives_the_trip(message: Invalidation) -> None:
    assert decode_invalidation(encode_invalidation(message)) == message


ticket_ids = st.from_regex(r"[0-9a-f]{8}", fullmatch=True)


@given(
    st.builds(
        Invalidation,
        st.text(min_size=1, max_size=20),
        st.just("upstream"),
        st.text(min_size=1, max_size=40),
        st.text(min_size=1, max_size=40),
        st.none() | st.lists(ticket_ids, min_size=1, max_size=MAX_TICKETS).map(tuple),
    )
)
def test_an_upstream_change_survives_the_trip(message: Invalidation) -> None:
    assert decode_invalidation(encode_invalidation(message)) == message
    assert decode_invalidation(encode_invalidation(message).encode()) == message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)


@given(st.binary(max_size=300) | st.text(max_size=300) | st.none())
def test_garbage_decodes_to_nothing(raw: bytes | str | None) -> None:
    # Whatever another program (or version) leaves under our prefix: None, or a valid value.
    admission = decode_admission(raw)
    assert admission is None or isinstance(admission, PastScan)
    message = decode_invalidation(raw)
    assert message is None or isinstance(message, Invalidation)


@given(
    st.dictionaries(
        st.sampled_from(["at", "gate", "dir", "dev", "o", "k", "t", "i", "s"]),
        json_values | st.sampled_from(["event", "device", "tenant", "upstream"]),
    )
)
def test_near_misses_decode_to_nothing_or_something_valid(data: dict[str, object]) -> None:
    raw = json.dumps(data)
    admission = decode_admission(raw)
    if admission is not None:
        assert type(admission.at_ms) is int and admission.direction in Direction
    message = decode_invalidation(raw)
    if message is not None:
        assert message.kind in ("event", "device", "tenant", "upstream") and message.tenant_id
        assert (message.tickets is None) or (message.kind == "upstream" and message.tickets)


@given(
    st.fixed_dictionaries(
        {"o": st.just("x"), "k": st.just("upstream"), "t": st.just("t1"), "i": st.just("e1")},
        optional={"s": st.none() | st.lists(json_values | ticket_ids, max_size=MAX_TICKETS + 2)},
    )
)
def test_upstream_near_misses_decode_to_nothing_or_something_valid(
    data: dict[str, object],
) -> None:
    message = decode_invalidation(json.dumps(data))
    if message is not None:
        assert message.kind == "upstream" and "s" in data
        assert message.tickets is None or (
            0 < len(message.tickets) <= MAX_TICKETS
            and all(len(t) == 8 and set(t) <= set("0123456789abcdef") for t in message.tickets)
        )


def test_the_wrong_shapes_are_refused() -> None:
    good = encode_admission(PastScan(1, "A", Direction.ENTRY, "d"))
    assert decode_admission(good.replace('"at":1', '"at":true')) is None
    assert decode_admission(good.replace('"entry"', '"sideways"')) is None
    assert decode_admission(good.replace('"at":1', '"at":-1')) is None
    assert decode_invalidation('{"o":"x","k":"event","t":"t","i":""}') is None
    assert decode_invalidation('{"o":"x","k":"nuke","t":"t","i":"e"}') is None
    assert decode_invalidation('{"o":"x","k":"tenant","t":"t","i":""}') is not None
    # Upstream changes carry their tickets ("s"), null for all; no other kind has any.
    assert decode_invalidation('{"o":"x","k":"upstream","t":"t","i":"e","s":null}') is not None
    assert decode_invalidation('{"o":"x","k":"upstream","t":"t","i":"e","s":["0000000a"]}')
    assert decode_invalidation('{"o":"x","k":"upstream","t":"t","i":"e"}') is None
    assert decode_invalidation('{"o":"x","k":"upstream","t":"t","i":"e","s":[]}') is None
    assert decode_invalidation('{"o":"x","k":"upstream","t":"t","i":"e","s":["0000000A"]}') is None
    assert decode_invalidation('{"o":"x","k":"upstream","t":"t","i":"e","s":"0000000a"}') is None
    assert decode_invalidation('{"o":"x","k":"upstream","t":"t","i":"","s":null}') is None
    assert decode_invalidation('{"o":"x","k":"event","t":"t","i":"e","s":null}') is None
    too_many = json.dumps([f"{n:08x}" for n in range(MAX_TICKETS + 1)])
    assert decode_invalidation(f'{{"o":"x","k":"upstream","t":"t","i":"e","s":{too_many}}}') is None


# -- the link: deadline, down, back up ---------------------------------------------------


@pytest.mark.redis
def test_the_link_goes_down_and_comes_back(redis_server: PrivateRedis) -> None:
    link = RedisLink(redis_server.url, timeout_seconds=0.25, retry_seconds=0.1)
    recovered: list[bool] = []
    link.on_recovery(lambda: recovered.append(True))
    link.start()
    try:
        assert link.up
        assert link.run(lambda client: client.set("k", "v"), False) is True
        redis_server.kill()
        assert link.run(lambda client: client.get("k"), "default") == "default"
        assert not link.up
        started = time.monotonic()
        assert link.run(lambda client: client.get("k"), "default") == "default"
        assert time.monotonic() - started < 0.01  # down: nobody waits on Redis
        redis_server.start()
        wait_for(lambda: link.up, timeout=5, what="the probe to find Redis back")
        assert link.recoveries == 1
        wait_for(lambda: len(recovered) == 2, timeout=5, what="the recovery callback")
    finally:
        link.stop()


def test_a_redis_that_never_answers_costs_one_deadline() -> None:
    # A socket that accepts connections and never replies: a hung Redis.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        port = hung.getsockname()[1]
        link = RedisLink(f"redis://127.0.0.1:{port}/0", timeout_seconds=0.2, retry_seconds=60)
        try:
            started = time.monotonic()
            link.start()  # the first ping times out
            assert not link.up
            assert time.monotonic() - started < 1.5
            assert link.run(lambda client: client.get("k"), None) is None
        finally:
            link.stop()


# -- rate limits: shared through Redis, in memory while it is away -----------------------


@pytest.mark.redis
def test_rate_limits_are_shared_and_fall_back_to_memory(redis_server: PrivateRedis) -> None:
    def limits() -> RateLimits:
        return RateLimits(redis_server.url, "10/hour", key_prefix="test-limits", retry_seconds=0.2)

    one, two = limits(), limits()
    assert one.storage == "redis"
    answers = [(one if i % 2 else two).hit_scan("t", "device", 4) for i in range(5)]
    assert answers[:4] == [None] * 4
    assert answers[4] is not None and answers[4] >= 1  # the 5th, counted across both

    redis_server.kill()
    started = time.monotonic()
    assert one.hit_scan("t", "device", 4) is None  # memory: a fresh count, no error
    assert time.monotonic() - started < 1
    assert one.storage == "memory (redis down)"
    assert one.fallbacks == 1
    for _ in range(3):
        one.hit_scan("t", "device", 4)
    assert one.hit_scan("t", "device", 4) is not None  # still limited, per instance

    redis_server.start()  # empty: the count starts again
    wait_for(lambda: one.storage == "redis", timeout=5, what="the retry period to end")
    assert one.hit_scan("t", "device", 4) is None
    assert two.hit_scan("t", "device", 4) is None


# -- cache invalidation between instances -------------------------------------------------


@pytest.fixture
def two_caches(
    redis_server: PrivateRedis, tmp_path: Path
) -> Iterator[tuple[SharedState, CatalogCache, CatalogCache]]:
    from scanctl.backend.settings import load_settings
    from scanctl.backend.sharedstate.wiring import shared_state_for
    from tests.backend.helpers import base_env

    states = []
    caches = []
    for name in ("a", "b"):
        cache = CatalogCache(_clock)
        env = base_env(tmp_path / name, REDIS_URL=redis_server.url)
        env["REDIS_KEY_PREFIX"] = "test-bus:"
        state = shared_state_for(load_settings(environ=env), cache)
        assert state is not None
        state.start()
        states.append(state)
        caches.append(cache)
    try:
        for state in states:
            wait_for(lambda s=state: s.bus.subscribed, timeout=5, what="subscriptions")
        yield states[0], caches[0], caches[1]
    finally:
        for state in states:
            state.stop()


@pytest.mark.redis
def test_an_invalidation_reaches_the_other_instance(
    two_caches: tuple[SharedState, CatalogCache, CatalogCache], redis_server: PrivateRedis
) -> None:
    here, mine, theirs = two_caches
    before = theirs.event_generation("t1", "e1")
    theirs.events.put(("t1", "e1"), before, "cached")
    mine.invalidate_event("t1", "e1")
    here.invalidated("event", "t1", "e1")
    wait_for(
        lambda: theirs.event_generation("t1", "e1") != before,
        timeout=5,
        what="the other instance to apply the invalidation",
    )
    assert theirs.events.get(("t1", "e1"), theirs.event_generation("t1", "e1")) == (False, None)

    # Garbage on the channel is counted and ignored, never applied or fatal.
    import redis

    with redis.Redis(port=redis_server.port) as raw:
        raw.publish("test-bus:invalidate", b"\xff not json")
        raw.publish("test-bus:invalidate", '{"o":"x","k":"nuke","t":"t1","i":"e1"}')
    wait_for(lambda: here.bus.ignored >= 2, timeout=5, what="garbage to be ignored")
    assert here.bus.subscribed


@pytest.fixture
def two_listeners(redis_server: PrivateRedis) -> Iterator[tuple[SharedState, list[Invalidation]]]:
    """A sender and a receiver whose `apply` records what it got; it fails on tenant "boom"."""
    got: list[Invalidation] = []

    def apply(message: Invalidation) -> None:
        if message.tenant_id == "boom":
            raise RuntimeError("an apply that fails")
        got.append(message)

    states = [
        SharedState(
            redis_server.url,
            prefix="test-listen:",
            timeout_seconds=0.25,
            apply=apply if receiving else lambda _message: None,
            flush=lambda: None,
        )
        for receiving in (False, True)
    ]
    for state in states:
        state.start()
    try:
        for state in states:
            wait_for(lambda s=state: s.bus.subscribed, timeout=5, what="subscriptions")
        yield states[0], got
    finally:
        for state in states:
            state.stop()


@pytest.mark.redis
def test_a_long_upstream_change_arrives_in_pieces(
    two_listeners: tuple[SharedState, list[Invalidation]],
) -> None:
    here, got = two_listeners
    tickets = [f"{n:08x}" for n in range(2 * MAX_TICKETS + 1)]
    here.invalidated("upstream", "t1", "e1", tickets)
    wait_for(lambda: len(got) == 3, timeout=5, what="the three pieces")
    assert [t for message in got for t in message.tickets or ()] == tickets
    assert {(m.kind, m.tenant_id, m.target) for m in got} == {("upstream", "t1", "e1")}
    got.clear()
    here.invalidated("upstream", "t1", "e1", [])  # nothing changed: nothing sent
    here.invalidated("upstream", "t1", "e2")  # the whole event
    wait_for(lambda: len(got) == 1, timeout=5, what="the whole event's change")
    assert got == [Invalidation(here.bus.origin, "upstream", "t1", "e2", None)]


@pytest.mark.redis
def test_the_listener_outlives_garbage_and_a_failing_apply(
    two_listeners: tuple[SharedState, list[Invalidation]],
    redis_server: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import redis

    here, got = two_listeners
    with redis.Redis(port=redis_server.port) as raw:
        raw.publish("test-listen:invalidate", b"\xff not json")
        raw.publish("test-listen:invalidate", '{"o":"x","k":"upstream","t":"t1","i":"e1","s":[1]}')
    here.invalidated("upstream", "boom", "e1", ["0000000a"])  # its apply raises
    here.invalidated("upstream", "t1", "e1", ["0000000b"])
    wait_for(lambda: len(got) == 1, timeout=5, what="the message after the failures")
    assert got[0].tickets == ("0000000b",)
    # Logged once per listener (both hear the channel) for the burst of two.
    assert caplog.text.count("not an invalidation") == 2
    assert "applying" in caplog.text and "RuntimeError" in caplog.text


@pytest.mark.redis
def test_a_lost_subscription_flushes_the_cache(
    two_caches: tuple[SharedState, CatalogCache, CatalogCache], redis_server: PrivateRedis
) -> None:
    # Messages published while an instance was cut off are lost: it must forget its cache.
    here, mine, _ = two_caches
    generation = mine.device_generation("t1", "d1")
    mine.devices.put(("t1", "d1"), generation, "cached")
    redis_server.kill()
    wait_for(lambda: not here.link.up, timeout=5, what="the link to notice")
    redis_server.start()
    wait_for(lambda: here.bus.subscribed, timeout=5, what="the subscription to come back")
    assert mine.device_generation("t1", "d1") != generation
    assert mine.devices.get(("t1", "d1"), mine.device_generation("t1", "d1")) == (False, None)


# -- the second cache level: shared values, never a stale one after a write --------------


@pytest.mark.redis
def test_the_second_level_never_serves_a_value_read_before_a_write(
    two_caches: tuple[SharedState, CatalogCache, CatalogCache],
) -> None:
    here, mine, theirs = two_caches
    ticket = TicketFacts("0000abcd", "e1", TicketStatus.ACTIVE, frozenset({"GA"}))
    key = ("t1", "e1", "0000abcd")
    # This instance misses everywhere and reads the database...
    assert mine.tickets.get(key, mine.event_generation("t1", "e1")) == (False, None)
    # ...meanwhile the ticket is refunded (at any instance): the generation moves on...
    here.invalidated("event", "t1", "e1")
    # ...and the value read before the write lands under the old generation.
    mine.tickets.put(key, 0, ticket)
    assert theirs.tickets.get(key, theirs.event_generation("t1", "e1")) == (False, None)
    # A value read after the write is shared.
    refunded = TicketFacts("0000abcd", "e1", TicketStatus.REFUNDED)
    mine.tickets.clear()
    assert mine.tickets.get(key, mine.event_generation("t1", "e1")) == (False, None)
    mine.tickets.put(key, mine.event_generation("t1", "e1"), refunded)
    theirs.tickets.clear()
    assert theirs.tickets.get(key, theirs.event_generation("t1", "e1")) == (True, refunded)
    second = theirs.tickets.second
    assert second is not None and getattr(second, "hits", 0) == 1


@pytest.mark.redis
def test_invalidations_made_while_redis_is_down_are_sent_when_it_is_back(
    two_caches: tuple[SharedState, CatalogCache, CatalogCache], redis_server: PrivateRedis
) -> None:
    import redis

    here, _, _ = two_caches
    generation_key = here.keys.catalog_generation("t1", "e9")
    redis_server.kill()
    wait_for(lambda: not here.link.up, timeout=5, what="the link to notice")
    here.invalidated("event", "t1", "e9")  # Redis cannot take it now
    redis_server.start()
    wait_for(lambda: here.link.up, timeout=5, what="the link to come back")

    def generation() -> bytes | None:
        with redis.Redis(port=redis_server.port) as raw:
            value: bytes | None = raw.get(generation_key)
            return value

    wait_for(lambda: generation() == b"1", timeout=5, what="the pending invalidation")


ticket_facts = st.builds(
    TicketFacts,
    st.text(max_size=8),
    st.text(max_size=36),
    st.sampled_from(TicketStatus),
    st.frozensets(st.text(max_size=5), max_size=3),
    st.none() | st.integers(0, 2**53),
    st.none() | st.integers(0, 2**53),
    st.none() | st.text(max_size=8),
)
event_facts = st.builds(EventFacts, texts, texts, texts, st.integers(), st.integers())


@given(st.none() | ticket_facts, st.none() | event_facts)
def test_catalog_values_survive_the_trip(
    ticket: TicketFacts | None, event: EventFacts | None
) -> None:
    encode, decode = CODECS["tickets"]
    assert decode(encode(ticket)) == ticket
    encode, decode = CODECS["events"]
    assert decode(encode(event)) == event


def test_policies_survive_the_trip() -> None:
    encode, decode = CODECS["policies"]
    policy = Policy(reentry_allowed=True, gate_zones={"North": "VIP"}, max_reentries=3)
    assert decode(encode(policy)) == policy
    assert decode(encode(Policy())) == Policy()


@given(st.binary(max_size=300) | st.text(max_size=300) | json_values.map(json.dumps))
def test_garbage_catalog_values_are_unreadable(raw: bytes | str) -> None:
    for name, kind in (("tickets", TicketFacts), ("events", EventFacts), ("policies", Policy)):
        _, decode = CODECS[name]
        value = decode(raw)
        assert value is UNREADABLE or value is None or isinstance(value, kind)


# -- the pre-check's own rate limit, in the same round trip --------------------------------


@pytest.mark.redis
def test_the_precheck_counts_the_rate_and_a_limited_scan_claims_nothing(
    two_caches: tuple[SharedState, CatalogCache, CatalogCache], redis_server: PrivateRedis
) -> None:
    import redis

    from scanctl.core import (
        ScannerContext,
        derive_event_key,
        mint_token,
        new_nonce,
        parse_code,
    )

    here, _, _ = two_caches
    now = _clock()
    key = derive_event_key("a" * 40, "t1", "e1")
    ticket = TicketFacts("0000abcd", "e1")
    event = EventFacts("e1", "t1", "v1", now - 3_600_000, now + 3_600_000)
    scanner = ScannerContext(device_id="d1", venue_id="v1", gate="G", zone=None)
    policy = Policy()

    def precheck(nonce: str) -> object:
        code = parse_code(mint_token(key, "0000abcd", now, nonce))
        return here.guard.precheck(
            "t1",
            code,
            ticket=ticket,
            event=event,
            policy=policy,
            scanner=scanner,
            event_keys=(key,),
            now_ms=now,
            rate_per_minute=3,
        )

    answers = [precheck(new_nonce()) for _ in range(3)]
    assert all(a.counted and a.refusal is None and a.claimed for a in answers)  # type: ignore[attr-defined]
    limited_nonce = new_nonce()
    limited = precheck(limited_nonce)
    assert limited.counted and limited.claimed is None  # type: ignore[attr-defined]
    assert limited.refusal.reason == "RATE_LIMITED"  # type: ignore[attr-defined]
    assert 1 <= limited.refusal.retry_after_s <= 60  # type: ignore[attr-defined]
    with redis.Redis(port=redis_server.port) as raw:
        assert not raw.exists(here.keys.nonce("t1", limited_nonce))
        assert raw.exists(answers[0].claimed)  # type: ignore[attr-defined]
