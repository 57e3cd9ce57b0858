"""ManifestStore at rest: an edit of manifest.db is found when opened with a verifier."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from scanctl.core import TicketStatus
from scanctl.manifests import (
    ManifestEntry,
    ManifestSigner,
    ManifestStore,
    ManifestStoreError,
    ManifestTampered,
    ManifestVerifier,
    TrustedKeys,
)

from ._support import Build, sample_entries, verify_kwargs

FAR_FUTURE_MS = 253_402_300_799_000


def _held(tmp_path: Path, build: Build, verifier: ManifestVerifier, *, delta: bool) -> Path:
    path = tmp_path / "manifest.db"
    with ManifestStore(path) as store:
        store.load(build(), verifier, **verify_kwargs())
        if delta:
            first = sample_entries()[0]
            changed = dataclasses.replace(first, status=TicketStatus.CANCELLED)
            store.load(
                build(sequence=2, base_sequence=1, changed=[changed], removed=[]),
                verifier,
                **verify_kwargs(),
            )
    return path


def _edit(path: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql, args)
    conn.close()


@pytest.mark.parametrize("delta", [False, True], ids=["full", "full+delta"])
def test_an_untouched_store_verifies_and_keeps_every_ticket(
    tmp_path: Path, build: Build, verifier: ManifestVerifier, delta: bool
) -> None:
    path = _held(tmp_path, build, verifier, delta=delta)
    with ManifestStore(path) as plain, ManifestStore(path, verifier=verifier) as checked:
        assert checked.header == plain.header
        assert [checked.entry(t) for t in plain.ticket_ids()] == [
            plain.entry(t) for t in plain.ticket_ids()
        ]
        assert len(checked) == len(plain) == 40
        if delta:
            assert checked.ticket(sample_entries()[0].ticket_id).status is TicketStatus.CANCELLED


EDITS: dict[str, Callable[[str], tuple[str, tuple[object, ...]]]] = {
    "refunded->active": lambda t: (
        "UPDATE manifest_entries SET status = 'ACTIVE' WHERE ticket_id = ?",
        (t,),
    ),
    "validity +1 year": lambda t: (
        "UPDATE manifest_entries SET valid_until_ms = ? WHERE ticket_id = ?",
        (FAR_FUTURE_MS, t),
    ),
    "more admissions": lambda t: (
        "UPDATE manifest_entries SET admissions_so_far = admissions_so_far + 1 WHERE ticket_id = ?",
        (t,),
    ),
    "another zone": lambda t: (
        "UPDATE manifest_entries SET zones = '[\"VIP\"]' WHERE ticket_id = ?",
        (t,),
    ),
    "invented ticket": lambda t: (
        "INSERT INTO manifest_entries VALUES ('deadbeef', 'ACTIVE', '[]', NULL, NULL, NULL, 0, ?)",
        ("0" * 64,),
    ),
    "ticket removed": lambda t: ("DELETE FROM manifest_entries WHERE ticket_id = ?", (t,)),
    "unlimited re-entry": lambda t: (
        "UPDATE manifest_header SET header_json = replace(header_json,"
        " '\"reentry_allowed\":false', '\"reentry_allowed\":true')",
        (),
    ),
    "validity of the manifest": lambda t: (
        "UPDATE manifest_header SET header_json = replace(header_json, "
        "'\"valid_until_ms\":', '\"valid_until_ms\":9')",
        (),
    ),
    "signed copy dropped": lambda t: ("DELETE FROM manifest_signed", ()),
    "signed copy flipped": lambda t: (
        "UPDATE manifest_signed SET wire = CAST(replace(CAST(wire AS TEXT), 'event', 'evenT') "
        "AS BLOB)",
        (),
    ),
    "delta dropped": lambda t: (
        "DELETE FROM manifest_signed WHERE position = (SELECT max(position) FROM manifest_signed)",
        (),
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edit_on_disk_is_refused(
    tmp_path: Path, build: Build, verifier: ManifestVerifier, edit: str
) -> None:
    path = _held(tmp_path, build, verifier, delta=True)
    refunded = next(e for e in sample_entries() if e.status is TicketStatus.REFUNDED)
    sql, args = EDITS[edit](refunded.ticket_id)
    _edit(path, sql, *args)
    with ManifestStore(path) as plain:  # without a verifier the edit would be believed
        assert plain.header is not None
    with pytest.raises(ManifestTampered) as caught:
        ManifestStore(path, verifier=verifier)
    message = str(caught.value)
    assert "manifest pull --full" in message and "\n" not in message


def test_a_manifest_signed_by_a_key_no_longer_trusted_is_refused(
    tmp_path: Path, build: Build, verifier: ManifestVerifier
) -> None:
    path = _held(tmp_path, build, verifier, delta=False)
    other = ManifestVerifier(TrustedKeys([ManifestSigner.generate().public_key_b64()]))
    with pytest.raises(ManifestTampered, match="not trusted"):
        ManifestStore(path, verifier=other)


def test_an_empty_store_verifies(tmp_path: Path, verifier: ManifestVerifier) -> None:
    with ManifestStore(tmp_path / "manifest.db", verifier=verifier) as store:
        assert store.header is None


def test_rows_without_any_signed_copy_are_refused(
    tmp_path: Path, build: Build, verifier: ManifestVerifier
) -> None:
    path = _held(tmp_path, build, verifier, delta=False)
    _edit(path, "DELETE FROM manifest_header")
    _edit(path, "DELETE FROM manifest_signed")
    with pytest.raises(ManifestTampered, match="no signed copy"):
        ManifestStore(path, verifier=verifier)


def test_a_garbled_row_is_one_line_not_a_traceback(
    tmp_path: Path, build: Build, verifier: ManifestVerifier
) -> None:
    path = _held(tmp_path, build, verifier, delta=False)
    _edit(path, "UPDATE manifest_entries SET status = 'BOGUS'")
    with pytest.raises(ManifestStoreError, match="unreadable"):
        ManifestStore(path)
    _edit(path, "UPDATE manifest_entries SET status = 'ACTIVE', zones = '{{{'")
    with pytest.raises(ManifestTampered):
        ManifestStore(path, verifier=verifier)


def test_apply_needs_the_signed_bytes(
    tmp_path: Path, build: Build, verifier: ManifestVerifier
) -> None:
    verified = verifier.verify(build(), **verify_kwargs())
    with ManifestStore(tmp_path / "m.db") as store:
        with pytest.raises(ValueError, match="bytes"):
            store.apply(dataclasses.replace(verified, wire=b""))
        store.apply(verified)
        assert store.entry("deadbeef") is None
        assert isinstance(store.entry(sample_entries()[0].ticket_id), ManifestEntry)
