"""ManifestStore: full then delta, refusals leave it untouched, reopen keeps state."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from scanctl.core import EventFacts, TicketFacts, TicketStatus, static_code_hash
from scanctl.manifests import (
    BadSignature,
    DeltaBaseMismatch,
    ManifestEntry,
    ManifestExpired,
    ManifestStore,
    ManifestStoreError,
    ManifestVerifier,
    StaleSequence,
    WrongVenue,
)

from ._support import EVENT_ID, ISSUED, NOW, VALID_UNTIL, Build, sample_entries, verify_kwargs

REFUNDED_LATER = "00000001"
TRANSFERRED_LATER = "00001ef0"
REMOVED_LATER = f"{6 * 7919 + 1:08x}"


@pytest.fixture
def store(tmp_path: Path) -> ManifestStore:
    opened = ManifestStore(tmp_path / "gate.db")
    yield opened  # type: ignore[misc]
    opened.close()


def _load(store: ManifestStore, verifier: ManifestVerifier, wire: bytes, **kw: object) -> None:
    store.load(wire, verifier, **verify_kwargs(**kw))


def _delta(build: Build, base: int = 1, sequence: int = 2) -> bytes:
    by_id = {entry.ticket_id: entry for entry in sample_entries()}
    refunded = dataclasses.replace(by_id[REFUNDED_LATER], status=TicketStatus.REFUNDED)
    transferred = dataclasses.replace(
        by_id[TRANSFERRED_LATER], status=TicketStatus.TRANSFERRED, transferred_to="cafe0001"
    )
    added = ManifestEntry("cafe0001", zones=frozenset({"GA"}))
    return build(
        sequence=sequence,
        base_sequence=base,
        changed=[refunded, transferred, added],
        removed=[REMOVED_LATER],
        issued_at_ms=ISSUED + 1000,
    )


def test_empty_store(store: ManifestStore) -> None:
    assert store.header is None
    assert store.sequence is None
    assert store.is_stale(NOW)
    assert store.age_ms(NOW) is None
    assert len(store) == 0
    assert store.ticket(REFUNDED_LATER) is None
    assert store.summary(NOW) == {"held": False}


def test_full_manifest_is_looked_up(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    _load(store, verifier, build())
    assert len(store) == 40
    assert store.sequence == 1
    assert (store.issued_at_ms, store.valid_until_ms) == (ISSUED, VALID_UNTIL)
    assert store.age_ms(NOW) == NOW - ISSUED
    assert not store.is_stale(NOW)
    assert store.is_stale(VALID_UNTIL + 1)
    facts = store.ticket("00000001")
    assert facts == TicketFacts(
        "00000001",
        EVENT_ID,
        TicketStatus.ACTIVE,
        frozenset({"VIP", "GA"}),
        ISSUED,
        VALID_UNTIL,
        None,
    )
    assert store.admissions_so_far("00000001") == 0
    by_hash = store.ticket_by_static_hash(static_code_hash("printed-secret-number-0004"))
    assert by_hash is not None
    assert by_hash.ticket_id == f"{4 * 7919 + 1:08x}"
    assert store.ticket_by_static_hash("0" * 64) is None
    assert "00000001" in store


def test_every_entry_comes_back(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    _load(store, verifier, build())
    for entry in sample_entries():
        assert store.entry(entry.ticket_id) == entry
    assert store.entry("ffffffff") is None


def test_counts_and_summary(store: ManifestStore, build: Build, verifier: ManifestVerifier) -> None:
    _load(store, verifier, build())
    assert store.counts_by_status() == {status: 10 for status in TicketStatus}
    summary = store.summary(NOW)
    assert summary["sequence"] == 1
    assert summary["tickets"] == 40
    assert summary["by_status"] == {
        "ACTIVE": 10,
        "REFUNDED": 10,
        "CANCELLED": 10,
        "TRANSFERRED": 10,
    }
    assert summary["stale"] is False
    assert summary["age_ms"] == NOW - ISSUED


def test_delta_brings_a_refund_and_a_transfer(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    _load(store, verifier, build())
    assert store.ticket(REMOVED_LATER) is not None
    _load(store, verifier, _delta(build))
    assert store.sequence == 2
    assert store.issued_at_ms == ISSUED + 1000
    refunded = store.ticket(REFUNDED_LATER)
    assert refunded is not None
    assert refunded.status is TicketStatus.REFUNDED
    transferred = store.ticket(TRANSFERRED_LATER)
    assert transferred is not None
    assert (transferred.status, transferred.transferred_to) == (
        TicketStatus.TRANSFERRED,
        "cafe0001",
    )
    assert store.ticket("cafe0001") is not None
    assert store.ticket(REMOVED_LATER) is None
    assert len(store) == 40
    untouched = sample_entries()[2]
    assert store.entry(untouched.ticket_id) == untouched


def test_delta_replaces_a_static_hash_and_admissions(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    _load(store, verifier, build())
    original = sample_entries()[4]
    old_hash = original.static_hash
    assert old_hash is not None
    changed = dataclasses.replace(original, static_hash="b" * 64, admissions_so_far=0)
    _load(store, verifier, build(sequence=2, base_sequence=1, changed=[changed]))
    assert store.ticket_by_static_hash(old_hash) is None
    assert store.ticket_by_static_hash("b" * 64) == store.ticket(original.ticket_id)
    assert store.admissions_so_far(original.ticket_id) == 0
    removed_hash = sample_entries()[8]
    _load(store, verifier, build(sequence=3, base_sequence=2, removed=[removed_hash.ticket_id]))
    assert removed_hash.static_hash is not None
    assert store.ticket_by_static_hash(removed_hash.static_hash) is None


def test_reopen_keeps_state(tmp_path: Path, build: Build, verifier: ManifestVerifier) -> None:
    path = tmp_path / "gate.db"
    with ManifestStore(path) as store:
        _load(store, verifier, build())
        _load(store, verifier, _delta(build))
        before = {entry.ticket_id: store.entry(entry.ticket_id) for entry in sample_entries()}
        header = store.header
    with ManifestStore(path) as again:
        assert again.header == header
        assert again.sequence == 2
        assert {ticket_id: again.entry(ticket_id) for ticket_id in before} == before
        assert again.ticket("cafe0001") is not None
        ticket = again.ticket(REFUNDED_LATER)
        assert ticket is not None
        assert ticket.status is TicketStatus.REFUNDED


def test_database_is_in_wal_mode(store: ManifestStore) -> None:
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _flip_last(wire: bytes) -> bytes:
    return wire[:-1] + bytes((wire[-1] ^ 0x01,))


def _snapshot(store: ManifestStore) -> tuple[object, ...]:
    return (
        store.header,
        {e.ticket_id: store.entry(e.ticket_id) for e in sample_entries()},
        store.counts_by_status(),
    )


def _rows(store: ManifestStore) -> list[tuple[object, ...]]:
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT * FROM manifest_entries ORDER BY ticket_id").fetchall()


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("wrong base", DeltaBaseMismatch),
        ("replayed full", StaleSequence),
        ("older full", StaleSequence),
        ("other venue", WrongVenue),
        ("expired", ManifestExpired),
        ("tampered", BadSignature),
    ],
)
def test_refused_manifest_leaves_the_store_untouched(
    store: ManifestStore, build: Build, verifier: ManifestVerifier, case: str, error: type
) -> None:
    _load(store, verifier, build(sequence=5))
    before, rows = _snapshot(store), _rows(store)
    attempts = {
        "wrong base": (_delta(build, base=4, sequence=6), {}),
        "replayed full": (build(sequence=5), {}),
        "older full": (build(sequence=3), {}),
        "other venue": (_delta(build, base=5, sequence=6), {"venue_id": "venue-2"}),
        "expired": (build(sequence=6), {"now_ms": VALID_UNTIL + 1}),
        "tampered": (_flip_last(_delta(build, base=5, sequence=6)), {}),
    }
    wire, overrides = attempts[case]
    with pytest.raises(error):
        _load(store, verifier, wire, **overrides)
    assert _snapshot(store) == before
    assert _rows(store) == rows


def test_delta_without_a_held_manifest_is_refused(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    with pytest.raises(DeltaBaseMismatch, match="none is held"):
        _load(store, verifier, _delta(build))
    assert store.header is None


def test_delta_for_another_event_is_refused(
    store: ManifestStore, build: Build, verifier: ManifestVerifier, event: EventFacts
) -> None:
    _load(store, verifier, build())
    other = dataclasses.replace(event, event_id="event-2")
    with pytest.raises(DeltaBaseMismatch, match="for event event-2"):
        _load(store, verifier, build(event=other, sequence=2, base_sequence=1))
    assert store.header is not None
    assert store.header.event_id == EVENT_ID


def test_full_manifest_for_another_event_replaces(
    store: ManifestStore, build: Build, verifier: ManifestVerifier, event: EventFacts
) -> None:
    _load(store, verifier, build(sequence=9))
    other = dataclasses.replace(event, event_id="event-2")
    _load(store, verifier, build(event=other, sequence=1, entries=sample_entries(3)))
    assert store.header is not None
    assert (store.header.event_id, store.sequence, len(store)) == ("event-2", 1, 3)
    ticket = store.ticket("00000001")
    assert ticket is not None
    assert ticket.event_id == "event-2"


def test_newer_full_replaces_everything(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    _load(store, verifier, build())
    _load(store, verifier, build(sequence=2, entries=sample_entries(5)))
    assert len(store) == 5
    assert len(_rows(store)) == 5


def test_expired_manifest_can_be_kept_and_known_stale(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    late = VALID_UNTIL + 60_000
    verified = store.load(build(), verifier, **verify_kwargs(now_ms=late, allow_expired=True))
    assert verified.stale
    assert store.is_stale(late)
    assert store.ticket("00000001") is not None


def test_unreadable_held_header_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "gate.db"
    ManifestStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO manifest_header (id, event_id, sequence, signing_key_id, header_json)"
            " VALUES (1, 'e', 1, '0123456789abcdef', '{')"
        )
    with pytest.raises(ManifestStoreError, match="unreadable"):
        ManifestStore(path)


def test_a_write_failing_midway_rolls_back(
    store: ManifestStore, build: Build, verifier: ManifestVerifier
) -> None:
    _load(store, verifier, build())
    before, rows = _snapshot(store), _rows(store)
    with sqlite3.connect(store.path) as conn:
        conn.execute(
            "CREATE TRIGGER fail_late BEFORE INSERT ON manifest_entries"
            " WHEN NEW.ticket_id = 'ffffffff' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    newer = [*sample_entries(), ManifestEntry("ffffffff")]
    with pytest.raises(ManifestStoreError, match=r"held manifest unchanged.*disk trouble"):
        _load(store, verifier, build(sequence=2, entries=newer))
    assert _snapshot(store) == before
    assert _rows(store) == rows
    assert store.sequence == 1


def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestStoreError, match="cannot open the manifest store"):
        ManifestStore(tmp_path / "no-such-dir" / "gate.db")


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "gate.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ManifestStoreError, match="cannot open the manifest store"):
        ManifestStore(path)


def test_clear_forgets_and_accepts_a_restarted_sequence(
    tmp_path: Path, build: Build, verifier: ManifestVerifier
) -> None:
    path = tmp_path / "gate.db"
    with ManifestStore(path) as store:
        _load(store, verifier, build(sequence=57))
        with pytest.raises(StaleSequence):
            _load(store, verifier, build(sequence=1))
        store.clear()
        assert (store.header, len(store), store.ticket("00000001")) == (None, 0, None)
    with ManifestStore(path) as store:
        assert store.header is None
        _load(store, verifier, build(sequence=1))
        assert store.sequence == 1


def test_the_device_zone_is_kept_and_a_delta_replaces_it(
    tmp_path: Path, build: Build, verifier: ManifestVerifier
) -> None:
    path = tmp_path / "gate.db"
    with ManifestStore(path) as store:
        _load(store, verifier, build(device_zone="GA"))
    with ManifestStore(path) as again:
        assert again.header is not None and again.header.device_zone == "GA"
        assert again.summary(NOW)["device_zone"] == "GA"
        _load(again, verifier, build(sequence=2, base_sequence=1, device_zone="VIP"))
        assert again.header is not None and again.header.device_zone == "VIP"
