"""The manifest model: header conveniences and an entry's TicketFacts."""

from __future__ import annotations

import dataclasses

from scanctl.core import EventFacts, Policy, TicketFacts, TicketStatus
from scanctl.manifests import ManifestEntry, ManifestHeader

EVENT = EventFacts("e", "t", "v", 10, 20)


def _header(**changes: object) -> ManifestHeader:
    header = ManifestHeader(
        event=EVENT,
        issued_at_ms=1_000,
        valid_until_ms=2_000,
        sequence=3,
        signing_key_id="0" * 16,
        policy=Policy(),
        device_id="d",
        sealed_event_keys=(b"k1", b"k0"),
    )
    return dataclasses.replace(header, **changes)  # type: ignore[arg-type]


def test_header_conveniences() -> None:
    header = _header()
    assert (header.tenant_id, header.venue_id, header.event_id) == ("t", "v", "e")
    assert not header.is_delta
    assert _header(base_sequence=2).is_delta
    assert header.sealed_event_key == b"k1"
    assert not header.is_expired(2_000)
    assert header.is_expired(2_001)
    assert header.age_ms(1_500) == 500
    assert header.format_version == 1


def test_entry_facts() -> None:
    entry = ManifestEntry(
        "0a0b0c0d",
        TicketStatus.TRANSFERRED,
        frozenset({"GA"}),
        1,
        2,
        "0e0f0a0b",
        4,
        "a" * 64,
    )
    assert entry.facts("e") == TicketFacts(
        "0a0b0c0d", "e", TicketStatus.TRANSFERRED, frozenset({"GA"}), 1, 2, "0e0f0a0b"
    )


def test_entries_have_no_personal_data_fields() -> None:
    names = {f.name for f in dataclasses.fields(ManifestEntry)}
    assert names == {
        "ticket_id",
        "status",
        "zones",
        "valid_from_ms",
        "valid_until_ms",
        "transferred_to",
        "admissions_so_far",
        "static_hash",
    }
