"""The packed entry columns: round trips, canonical order, and garbage never crashing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.core import TicketStatus
from scanctl.manifests import MalformedManifest, ManifestEntry
from scanctl.manifests.packing import pack_entries, unpack_entries

from ._support import sample_entries

_ids = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda n: f"{n:08x}"),
    st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode()) < 256),
)
_ms = st.none() | st.integers(-(2**63) + 1, 2**63 - 1)
_entry = st.builds(
    ManifestEntry,
    ticket_id=_ids,
    status=st.sampled_from(TicketStatus),
    zones=st.frozensets(st.text(min_size=1, max_size=8), max_size=3),
    valid_from_ms=_ms,
    valid_until_ms=_ms,
    transferred_to=st.none() | st.text(min_size=1, max_size=12),
    admissions_so_far=st.integers(0, 2**32 - 1),
    static_hash=st.none() | st.binary(min_size=32, max_size=32).map(bytes.hex),
)


def _unique(entries: list[ManifestEntry]) -> list[ManifestEntry]:
    by_id = {entry.ticket_id: entry for entry in entries}
    seen: set[str | None] = set()
    result = []
    for entry in by_id.values():
        if entry.static_hash is not None and entry.static_hash in seen:
            continue
        seen.add(entry.static_hash)
        result.append(entry)
    return result


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(_entry, max_size=30).map(_unique))
def test_round_trip_in_ticket_id_order(entries: list[ManifestEntry]) -> None:
    decoded, removed = unpack_entries(pack_entries(entries))
    assert list(decoded) == sorted(entries, key=lambda entry: entry.ticket_id)
    assert removed == ()


@settings(max_examples=50, deadline=None)
@given(entries=st.lists(_entry, max_size=20).map(_unique), data=st.data())
def test_order_does_not_change_the_bytes(entries: list[ManifestEntry], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(entries))
    assert pack_entries(shuffled) == pack_entries(entries)


def test_removed_ids_round_trip_sorted() -> None:
    entries = sample_entries(3)
    _, removed = unpack_entries(pack_entries(entries, ["ffff0002", "ffff0001"]))
    assert removed == ("ffff0001", "ffff0002")


def test_hex_ids_pack_to_four_bytes() -> None:
    hex_ids = [ManifestEntry(f"{n:08x}") for n in range(1000)]
    other_ids = [ManifestEntry(f"T{n:07d}") for n in range(1000)]
    assert len(pack_entries(other_ids)) - len(pack_entries(hex_ids)) == 1000 * 5


def test_uppercase_hex_is_not_taken_for_packed_hex() -> None:
    entries = [ManifestEntry("ABCDEF01")]
    assert unpack_entries(pack_entries(entries))[0][0].ticket_id == "ABCDEF01"


def test_zone_sets_are_interned() -> None:
    decoded, _ = unpack_entries(pack_entries(sample_entries(30)))
    assert len({id(entry.zones) for entry in decoded}) == 2


@pytest.mark.parametrize(
    ("entries", "removed", "message"),
    [
        ([ManifestEntry("00000001"), ManifestEntry("00000001")], (), "duplicate ticket ids"),
        ([ManifestEntry("")], (), "ticket id must be 1 to 255"),
        ([ManifestEntry("00000001", static_hash="ABC")], (), "not 64 lowercase hex"),
        ([ManifestEntry("00000001", admissions_so_far=-1)], (), "admissions_so_far"),
        ([ManifestEntry("00000001", valid_from_ms=-(2**63))], (), "out of range"),
        ([ManifestEntry("00000001", zones=frozenset({""}))], (), "zone must be"),
        ([ManifestEntry("00000001")], ("00000001",), "both changed and removed"),
        (
            [
                ManifestEntry("00000001", static_hash="a" * 64),
                ManifestEntry("2", static_hash="a" * 64),
            ],
            (),
            "share one static hash",
        ),
    ],
)
def test_entries_no_manifest_can_carry(
    entries: list[ManifestEntry], removed: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pack_entries(entries, removed)


@settings(max_examples=500, deadline=None)
@given(garbage=st.binary(max_size=400))
def test_garbage_is_malformed_never_a_crash(garbage: bytes) -> None:
    with contextlib.suppress(MalformedManifest):
        unpack_entries(garbage)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_damaged_columns_are_malformed_or_decode(data: st.DataObject) -> None:
    packed = bytearray(pack_entries(sample_entries(12), ["gone"]))
    position = data.draw(st.integers(0, len(packed) - 1))
    packed[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(packed)))
    try:
        entries, _ = unpack_entries(bytes(packed[:cut]))
    except MalformedManifest:
        return
    assert all(isinstance(entry, ManifestEntry) for entry in entries)


def test_trailing_bytes_are_malformed() -> None:
    with pytest.raises(MalformedManifest, match="trailing"):
        unpack_entries(pack_entries(sample_entries(3)) + b"\x00")


def test_huge_counts_are_refused_before_allocating() -> None:
    with pytest.raises(MalformedManifest, match="truncated"):
        unpack_entries(b"\xff\xff\xff\xff\x00")
