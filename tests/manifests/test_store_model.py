"""ManifestStore against a plain dict model: any run of full manifests and deltas."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.core import TicketStatus
from scanctl.manifests import ManifestEntry, ManifestStore, ManifestVerifier

from ._support import Build, verify_kwargs

_IDS = [f"{n:08x}" for n in range(12)]


@st.composite
def _entry(draw: st.DrawFn, ticket_id: str) -> ManifestEntry:
    # Static hashes are derived from the id, so no two tickets ever share one.
    version = draw(st.none() | st.integers(0, 3))
    return ManifestEntry(
        ticket_id,
        status=draw(st.sampled_from(TicketStatus)),
        zones=draw(st.sampled_from([frozenset(), frozenset({"GA"}), frozenset({"GA", "VIP"})])),
        admissions_so_far=draw(st.integers(0, 2)),
        static_hash=None
        if version is None
        else hashlib.sha256(f"{ticket_id}/{version}".encode()).hexdigest(),
    )


@st.composite
def _changes(draw: st.DrawFn) -> tuple[list[ManifestEntry], list[str]]:
    touched = draw(st.lists(st.sampled_from(_IDS), unique=True, max_size=6))
    split = draw(st.integers(0, len(touched)))
    changed = [draw(_entry(ticket_id)) for ticket_id in touched[:split]]
    return changed, touched[split:]


@settings(max_examples=40, deadline=None)
@given(
    first=st.lists(st.sampled_from(_IDS), unique=True).flatmap(
        lambda ids: st.tuples(*(_entry(ticket_id) for ticket_id in ids))
    ),
    steps=st.lists(_changes(), max_size=5),
)
def test_store_matches_the_model(
    build: Build,
    verifier: ManifestVerifier,
    first: tuple[ManifestEntry, ...],
    steps: list[tuple[list[ManifestEntry], list[str]]],
) -> None:
    model = {entry.ticket_id: entry for entry in first}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "gate.db"
        with ManifestStore(path) as store:
            store.load(build(entries=list(first)), verifier, **verify_kwargs())
            for sequence, (changed, removed) in enumerate(steps, start=2):
                wire = build(
                    sequence=sequence, base_sequence=sequence - 1, changed=changed, removed=removed
                )
                store.load(wire, verifier, **verify_kwargs())
                for ticket_id in removed:
                    model.pop(ticket_id, None)
                model.update((entry.ticket_id, entry) for entry in changed)
                _assert_matches(store, model)
        with ManifestStore(path) as reopened:
            _assert_matches(reopened, model)


def _assert_matches(store: ManifestStore, model: dict[str, ManifestEntry]) -> None:
    assert len(store) == len(model)
    for ticket_id in _IDS:
        assert store.entry(ticket_id) == model.get(ticket_id)
        assert store.admissions_so_far(ticket_id) == (
            model[ticket_id].admissions_so_far if ticket_id in model else 0
        )
    hashes = {e.static_hash: e.ticket_id for e in model.values() if e.static_hash is not None}
    for ticket_id in _IDS:
        for version in range(4):
            digest = hashlib.sha256(f"{ticket_id}/{version}".encode()).hexdigest()
            found = store.ticket_by_static_hash(digest)
            assert (found.ticket_id if found else None) == hashes.get(digest)
    counts = {status: 0 for status in TicketStatus}
    for entry in model.values():
        counts[TicketStatus(entry.status)] += 1
    assert store.counts_by_status() == counts
