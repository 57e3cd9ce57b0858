"""The pure parts of the offline backend: sequences, allowances, filing scans under events."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

import scanctl.backend.offline
from scanctl.backend.offline import SEQUENCE_TIME_BITS, base_ticket_seq, compose_sequence
from scanctl.backend.offline.reconcile import pick_event
from scanctl.backend.store.offline import VenueEvent

TICKET_SEQ = st.integers(min_value=0, max_value=2**20)
TIME_MS = st.integers(min_value=1, max_value=2**SEQUENCE_TIME_BITS - 1)


def test_public_surface() -> None:
    assert set(scanctl.backend.offline.__all__) == {
        "SEQUENCE_TIME_BITS",
        "DeviceNotEligible",
        "IssuedManifest",
        "ManifestIssuer",
        "base_ticket_seq",
        "compose_sequence",
    }


@given(TICKET_SEQ, TIME_MS)
def test_a_sequence_names_its_catalog_state(ticket_seq: int, at_ms: int) -> None:
    assert base_ticket_seq(compose_sequence(ticket_seq, at_ms)) == ticket_seq


@given(TICKET_SEQ, TIME_MS, TICKET_SEQ, TIME_MS)
def test_sequences_grow_with_the_catalog_then_with_time(
    seq_a: int, at_a: int, seq_b: int, at_b: int
) -> None:
    a, b = compose_sequence(seq_a, at_a), compose_sequence(seq_b, at_b)
    assert (a < b) == ((seq_a, at_a) < (seq_b, at_b))


def test_scans_are_filed_under_the_event_they_happened_at() -> None:
    hour = 3_600_000
    day1 = VenueEvent("day-1", 10 * hour, 16 * hour)
    day2 = VenueEvent("day-2", 34 * hour, 40 * hour)
    assert pick_event([day1, day2], 12 * hour) == "day-1"
    assert pick_event([day1, day2], 35 * hour) == "day-2"
    assert pick_event([day1, day2], 200 * hour) == "day-2"  # nothing near: the nearest start
    assert pick_event([day1], 200 * hour) == "day-1"
    assert pick_event([], 12 * hour) is None
