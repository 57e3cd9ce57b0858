"""The daemon's copy of its manifest: SQLite (WAL) on disk, dictionaries in memory.

Every ticket lookup is a dictionary read (well under a microsecond); SQLite is there so
a restarted daemon has its manifest at once, without the network. A full manifest
replaces the held one and a delta patches it, each in one transaction, so a crash
mid-apply leaves the previous manifest whole; the in-memory view is swapped only after
the commit. A refused manifest changes nothing.

The signed bytes every held manifest was applied from (the last full one and the deltas
since) are kept next to the rows. Opened with a verifier, the store checks their
signatures again, rebuilds the manifest from them and refuses (ManifestTampered) when
the rows say anything else: what the backend signed stays verifiable at rest, and an
edit of the file is found, never obeyed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlite_utils

from scanctl.core import TicketFacts, TicketStatus
from scanctl.manifests.errors import (
    DeltaBaseMismatch,
    MalformedManifest,
    ManifestRefused,
    ManifestStoreError,
    ManifestTampered,
)
from scanctl.manifests.model import ManifestEntry, ManifestHeader
from scanctl.manifests.verify import ManifestVerifier, VerifiedManifest, check_sequence
from scanctl.manifests.wire import canonical_header, parse_header
from scanctl.storage import private_file

__all__ = ["ManifestStore"]

_STATUS = {str(status): status for status in TicketStatus}

_HEADER = "manifest_header"
_SIGNED = "SELECT wire FROM manifest_signed ORDER BY position"
# Literal SQL (table and column names are ours, values always bound).
_INSERT = (
    "INSERT OR REPLACE INTO manifest_entries (ticket_id, status, zones, valid_from_ms, "
    "valid_until_ms, transferred_to, admissions_so_far, static_hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT ticket_id, status, zones, valid_from_ms, valid_until_ms, transferred_to, "
    "admissions_so_far, static_hash FROM manifest_entries"
)


@dataclass(frozen=True, slots=True)
class _View:
    """One consistent in-memory picture of the held manifest (swapped as a whole)."""

    header: ManifestHeader | None = None
    tickets: dict[str, TicketFacts] = field(default_factory=dict)
    by_static_hash: dict[str, str] = field(default_factory=dict)
    static_of: dict[str, str] = field(default_factory=dict)
    admissions: dict[str, int] = field(default_factory=dict)

    @property
    def header_sequence(self) -> int | None:
        return None if self.header is None else self.header.sequence


class _Zones:
    """Zone sets as stored text (a JSON list) and back, interned: there are few."""

    def __init__(self) -> None:
        self._text: dict[frozenset[str], str] = {}
        self._sets: dict[str, frozenset[str]] = {}

    def text(self, zones: frozenset[str]) -> str:
        text = self._text.get(zones)
        if text is None:
            text = self._text[zones] = json.dumps(sorted(zones), ensure_ascii=False)
        return text

    def parse(self, text: str) -> frozenset[str]:
        zones = self._sets.get(text)
        if zones is None:
            zones = self._sets[text] = frozenset(json.loads(text))
        return zones


class ManifestStore:
    """The held manifest of one daemon, in the SQLite file at ``path``.

    Open it once at start-up (it loads every entry into memory), look tickets up with
    ticket() and ticket_by_static_hash(), and bring it up to date with load() (verify
    and apply) or apply() (already verified). Safe to apply from a worker thread
    while the event loop keeps looking tickets up.

    With a ``verifier`` the held manifest is rebuilt from its signed bytes, checked
    against the rows, and ManifestTampered raised when they differ (see the module).
    """

    def __init__(self, path: str | Path, verifier: ManifestVerifier | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._zones = _Zones()
        conn: sqlite3.Connection | None = None
        try:
            private_file(self.path)  # the event key and ticket list: 0600, not the umask's
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn = conn
            self._create_tables()
            self._view = self._read() if verifier is None else self._verified_view(verifier)
        except (sqlite3.Error, OSError, ManifestStoreError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, ManifestStoreError):
                raise
            raise ManifestStoreError(f"cannot open the manifest store {self.path}: {exc}") from None

    def _create_tables(self) -> None:
        db = sqlite_utils.Database(self._conn)
        db.enable_wal()
        db.table(_HEADER).create(
            {
                "id": int,
                "event_id": str,
                "sequence": int,
                "signing_key_id": str,
                "header_json": str,
            },
            pk="id",
            not_null={"event_id", "sequence", "signing_key_id", "header_json"},
            if_not_exists=True,
        )
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS manifest_signed ("
            " position INTEGER PRIMARY KEY, sequence INTEGER NOT NULL, wire BLOB NOT NULL)"
        )
        # WITHOUT ROWID (which sqlite-utils' create() cannot say): one b-tree keyed by
        # ticket id instead of two, so replacing 100,000 entries costs a third less.
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS manifest_entries ("
            " ticket_id TEXT PRIMARY KEY, status TEXT NOT NULL, zones TEXT NOT NULL,"
            " valid_from_ms INTEGER, valid_until_ms INTEGER, transferred_to TEXT,"
            " admissions_so_far INTEGER NOT NULL, static_hash TEXT) WITHOUT ROWID"
        )

    # -- reading -----------------------------------------------------------------------

    def _read(self) -> _View:
        row = self._conn.execute(
            "SELECT signing_key_id, header_json FROM manifest_header WHERE id = 1"
        ).fetchone()
        if row is None:
            return _View()
        try:
            header = parse_header(row[1].encode(), row[0])
        except MalformedManifest as exc:
            raise ManifestStoreError(
                f"the manifest held in {self.path} is unreadable: {exc}"
            ) from None
        event_id = header.event_id
        zones = self._zones.parse
        tickets: dict[str, TicketFacts] = {}
        static_of: dict[str, str] = {}
        admissions: dict[str, int] = {}
        # One pass over the cursor, never the whole result in memory: this runs at every
        # start-up and its peak is the daemon's.
        try:
            for (
                ticket_id,
                status,
                zone_text,
                start,
                until,
                moved,
                count,
                digest,
            ) in self._conn.execute(_SELECT):
                tickets[ticket_id] = TicketFacts(
                    ticket_id, event_id, _STATUS[status], zones(zone_text), start, until, moved
                )
                if digest is not None:
                    static_of[ticket_id] = digest
                if count:
                    admissions[ticket_id] = count
        except (KeyError, ValueError, TypeError) as exc:
            raise ManifestStoreError(
                f"the manifest held in {self.path} is unreadable (a ticket row: {exc!r})"
            ) from None
        by_hash = {digest: ticket_id for ticket_id, digest in static_of.items()}
        return _View(header, tickets, by_hash, static_of, admissions)

    def _verified_view(self, verifier: ManifestVerifier) -> _View:
        """The held manifest rebuilt from its signed bytes, after checking the rows match."""
        where = f"the manifest held in {self.path}"
        redo = "pull a full one (`scanctl manifest pull --full`)"
        wires = [bytes(w) for (w,) in self._conn.execute(_SIGNED)]
        header_row = self._conn.execute(
            "SELECT signing_key_id, header_json FROM manifest_header WHERE id = 1"
        ).fetchone()
        if not wires:
            if header_row is None and not self._has_rows():
                return _View()
            raise ManifestTampered(f"{where} has no signed copy to check it against; {redo}")
        view: _View | None = None
        for position, wire in enumerate(wires):
            try:
                manifest = verifier.verify_signature(wire)
                if position and not manifest.header.is_delta:
                    raise MalformedManifest("a full manifest after the first signed copy")
                check_sequence(manifest.header, None if view is None else view.header_sequence)
            except ManifestRefused as exc:
                raise ManifestTampered(
                    f"{where}: signed copy {position + 1} {exc}; {redo}"
                ) from None
            view = self._view_of(manifest.header, manifest.entries, view, manifest.removed)
        assert view is not None and view.header is not None
        expected = canonical_header(view.header).decode()
        if header_row is None or tuple(header_row) != (view.header.signing_key_id, expected):
            raise ManifestTampered(f"{where} was changed on disk (its header); {redo}")
        problem = self._rows_differ(view)
        if problem is not None:
            raise ManifestTampered(f"{where} was changed on disk ({problem}); {redo}")
        return view

    def _has_rows(self) -> bool:
        return self._conn.execute("SELECT 1 FROM manifest_entries LIMIT 1").fetchone() is not None

    def _rows_differ(self, view: _View) -> str | None:
        """The first way the stored rows differ from ``view`` (None: they match)."""
        seen = 0
        for ticket_id, status, zone_text, start, until, moved, count, digest in self._conn.execute(
            _SELECT
        ):
            facts = view.tickets.get(ticket_id)
            if facts is None:
                return f"ticket {ticket_id!r} was never signed"
            try:
                zones = self._zones.parse(zone_text)
            except (ValueError, TypeError):
                zones = None
            stored = (status, zones, start, until, moved, count, digest)
            signed = (
                str(facts.status),
                facts.zones,
                facts.valid_from_ms,
                facts.valid_until_ms,
                facts.transferred_to,
                view.admissions.get(ticket_id, 0),
                view.static_of.get(ticket_id),
            )
            if stored != signed:
                return f"ticket {ticket_id!r} differs from what was signed"
            seen += 1
        if seen != len(view.tickets):
            return f"{len(view.tickets) - seen} signed tickets are missing"
        return None

    @staticmethod
    def _view_of(
        header: ManifestHeader,
        entries: tuple[ManifestEntry, ...],
        base: _View | None = None,
        removed: tuple[str, ...] = (),
    ) -> _View:
        """A new view: ``entries`` alone (full manifest) or patched onto ``base`` (delta)."""
        event_id = header.event_id
        tickets = {
            e.ticket_id: TicketFacts(
                e.ticket_id,
                event_id,
                e.status,
                e.zones,
                e.valid_from_ms,
                e.valid_until_ms,
                e.transferred_to,
            )
            for e in entries
        }
        static_of = {e.ticket_id: e.static_hash for e in entries if e.static_hash is not None}
        admissions = {e.ticket_id: e.admissions_so_far for e in entries if e.admissions_so_far}
        if base is None:
            by_hash = {digest: ticket_id for ticket_id, digest in static_of.items()}
            return _View(header, tickets, by_hash, static_of, admissions)
        # A delta: patch copies of the held view, so lookups never see half of it.
        gone = set(removed)
        replaced = gone | tickets.keys()
        merged_tickets = {t: f for t, f in base.tickets.items() if t not in gone}
        merged_tickets.update(tickets)
        # A changed entry may have lost its static hash or its admissions: drop what the
        # held view knew of every replaced ticket, then add what the delta says.
        merged_static = {t: h for t, h in base.static_of.items() if t not in replaced}
        merged_static.update(static_of)
        merged_admissions = {t: n for t, n in base.admissions.items() if t not in replaced}
        merged_admissions.update(admissions)
        by_hash = {digest: ticket_id for ticket_id, digest in merged_static.items()}
        return _View(header, merged_tickets, by_hash, merged_static, merged_admissions)

    @property
    def header(self) -> ManifestHeader | None:
        """The held manifest's header (None until one is applied)."""
        return self._view.header

    @property
    def sequence(self) -> int | None:
        header = self._view.header
        return None if header is None else header.sequence

    @property
    def issued_at_ms(self) -> int | None:
        header = self._view.header
        return None if header is None else header.issued_at_ms

    @property
    def valid_until_ms(self) -> int | None:
        header = self._view.header
        return None if header is None else header.valid_until_ms

    def age_ms(self, now_ms: int) -> int | None:
        """Time since the held manifest was issued (None when nothing is held)."""
        header = self._view.header
        return None if header is None else header.age_ms(now_ms)

    def is_stale(self, now_ms: int) -> bool:
        """Whether decide() must be told ``manifest_stale``: expired, or nothing held."""
        header = self._view.header
        return header is None or header.is_expired(now_ms)

    def ticket(self, ticket_id: str) -> TicketFacts | None:
        """The ticket decide() needs, or None if the manifest does not know it."""
        return self._view.tickets.get(ticket_id)

    def ticket_by_static_hash(self, static_hash: str) -> TicketFacts | None:
        """The ticket whose printed secret hashes to ``static_hash`` (core.static_code_hash)."""
        view = self._view
        ticket_id = view.by_static_hash.get(static_hash)
        return None if ticket_id is None else view.tickets.get(ticket_id)

    def admissions_so_far(self, ticket_id: str) -> int:
        """Admissions the backend knew of for this ticket when it issued the manifest."""
        return self._view.admissions.get(ticket_id, 0)

    def entry(self, ticket_id: str) -> ManifestEntry | None:
        """The full manifest entry of a ticket."""
        view = self._view
        facts = view.tickets.get(ticket_id)
        if facts is None:
            return None
        return ManifestEntry(
            facts.ticket_id,
            facts.status,
            facts.zones,
            facts.valid_from_ms,
            facts.valid_until_ms,
            facts.transferred_to,
            view.admissions.get(ticket_id, 0),
            view.static_of.get(ticket_id),
        )

    def ticket_ids(self, status: TicketStatus | None = None) -> list[str]:
        """Every held ticket id, or those with one status, in ticket id order."""
        tickets = self._view.tickets
        if status is None:
            return sorted(tickets)
        return sorted(t for t, facts in tickets.items() if facts.status is status)

    def __len__(self) -> int:
        return len(self._view.tickets)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._view.tickets

    def counts_by_status(self) -> dict[TicketStatus, int]:
        """How many tickets of each status the manifest holds (every status listed)."""
        counts = Counter(facts.status for facts in self._view.tickets.values())
        return {status: counts.get(status, 0) for status in TicketStatus}

    def summary(self, now_ms: int) -> dict[str, Any]:
        """Header facts, counts and age as plain data (for `manifest show --json`)."""
        header = self._view.header
        if header is None:
            return {"held": False}
        return {
            "held": True,
            "tenant_id": header.tenant_id,
            "venue_id": header.venue_id,
            "event_id": header.event_id,
            "device_id": header.device_id,
            "device_zone": header.device_zone,
            "sequence": header.sequence,
            "signing_key_id": header.signing_key_id,
            "issued_at_ms": header.issued_at_ms,
            "valid_until_ms": header.valid_until_ms,
            "age_ms": header.age_ms(now_ms),
            "stale": header.is_expired(now_ms),
            "tickets": len(self),
            "by_status": {str(k): v for k, v in self.counts_by_status().items()},
        }

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any failure rolls back and leaves the held manifest."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise ManifestStoreError(
                f"cannot write the manifest store {self.path} (held manifest unchanged): {exc}"
            ) from None

    def load(
        self,
        wire: bytes,
        verifier: ManifestVerifier,
        *,
        tenant_id: str,
        venue_id: str,
        now_ms: int,
        event_id: str | None = None,
        device_id: str | None = None,
        allow_expired: bool = False,
    ) -> VerifiedManifest:
        """Verify ``wire`` (see ManifestVerifier.verify) and apply it; on any refusal
        the held manifest is untouched and the ManifestRefused propagates."""
        verified = verifier.verify(
            wire,
            tenant_id=tenant_id,
            venue_id=venue_id,
            now_ms=now_ms,
            event_id=event_id,
            device_id=device_id,
            allow_expired=allow_expired,
        )
        self.apply(verified)
        return verified

    def apply(self, verified: VerifiedManifest) -> None:
        """Apply a verified full manifest (replacing everything) or delta (patching).

        A full manifest for the held event must have a newer sequence; one for another
        event replaces the held one outright. A delta must be for the held event and
        built on the held sequence. Refusals raise before anything is written.
        """
        manifest = verified.manifest
        header = manifest.header
        with self._lock:
            held = self._view.header
            same_event = held is not None and held.event_id == header.event_id
            if header.is_delta and held is not None and not same_event:
                raise DeltaBaseMismatch(
                    f"delta is for event {header.event_id}, the held manifest is for "
                    f"{held.event_id}; pull a full one"
                )
            check_sequence(header, held.sequence if held is not None and same_event else None)
            zone_text = {z: self._zones.text(z) for z in {e.zones for e in manifest.entries}}
            # A generator, not a list: executemany streams it, so 100,000 row tuples never
            # sit in memory next to the entries and the new view.
            rows = (
                (
                    e.ticket_id,
                    str(e.status),
                    zone_text[e.zones],
                    e.valid_from_ms,
                    e.valid_until_ms,
                    e.transferred_to,
                    e.admissions_so_far,
                    e.static_hash,
                )
                for e in manifest.entries
            )
            if not verified.wire:
                raise ValueError("apply a manifest as the verifier returns it (with its bytes)")
            with self._transaction() as conn:
                if not header.is_delta:
                    conn.execute("DELETE FROM manifest_entries")
                    conn.execute("DELETE FROM manifest_signed")
                conn.execute(
                    "INSERT INTO manifest_signed (sequence, wire) VALUES (?, ?)",
                    (header.sequence, verified.wire),
                )
                conn.executemany(_INSERT, rows)
                conn.executemany(
                    "DELETE FROM manifest_entries WHERE ticket_id = ?",
                    [(ticket_id,) for ticket_id in manifest.removed],
                )
                conn.execute(
                    "INSERT OR REPLACE INTO manifest_header "
                    "(id, event_id, sequence, signing_key_id, header_json) VALUES (1, ?, ?, ?, ?)",
                    (
                        header.event_id,
                        header.sequence,
                        header.signing_key_id,
                        canonical_header(header).decode(),
                    ),
                )
            base = self._view if header.is_delta else None
            self._view = self._view_of(header, manifest.entries, base, manifest.removed)

    def clear(self) -> None:
        """Forget the held manifest (an operator's reset, e.g. after the backend's
        sequence restarted); the next full manifest is then accepted whatever its
        sequence. Until then every scan decides as with no manifest."""
        with self._lock:
            with self._transaction() as conn:
                conn.execute("DELETE FROM manifest_entries")
                conn.execute("DELETE FROM manifest_header")
                conn.execute("DELETE FROM manifest_signed")
            self._view = _View()

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ManifestStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
