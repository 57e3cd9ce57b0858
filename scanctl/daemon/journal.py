"""The gate's durable journal: every decision, committed before the gate is told.

One SQLite file (WAL) holds the append-only scan journal, the passes that make up each
ticket's history (our own admissions and, later, those learnt from the backend or peer
gates), the nonces seen, and the outbox state of each scan.

The daemon's scans are committed on its event loop, with no thread hand-off on the
way to the beep: a lane ``enqueue``s its decision and awaits ``wait(mark)``; every
entry queued during one turn of the loop (a burst of frames from one read, several
lanes at once) rides in one transaction committed right after that turn. A commit
without its fsync costs tens of microseconds; handing it to a writer thread cost more
than that in wake-ups and GIL hand-offs, and was most of the daemon's p99.

What ``wait`` promises is the ``JournalSync`` mode. ``normal``: the commit has reached
the operating system (it survives any crash of the daemon at once, and a power cut once
`WalKeeper` fsyncs the log, within ``flush_interval_s``). ``full``: the log is fsynced;
the keeper's thread does that fsync when asked, so the loop keeps deciding while the
disk works, and commits that land meanwhile share the next fsync. Checkpoints run in
the keeper's thread, never inside a commit.

Tools and tests append with ``append_sync`` from any thread (committed, and fsynced in
``full`` mode, before it returns). Reads use a second connection (WAL readers never
wait for the writer), and the counts the status page shows are kept in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from scanctl.core import Direction, PastScan, Reason
from scanctl.daemon.bad_reads import BadReadEntry
from scanctl.storage import CHECKPOINT_INTERVAL_S, WalKeeper, private_file

__all__ = [
    "MAX_RAW_BYTES",
    "Journal",
    "JournalClosed",
    "JournalEntry",
    "JournalError",
    "JournalSync",
    "OutboxRow",
]

log = logging.getLogger(__name__)

MAX_RAW_BYTES = 512
"""Raw payloads are stored up to this length: enough for any real code, bounded for noise."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id TEXT NOT NULL UNIQUE,
    ticket_id TEXT,
    raw BLOB NOT NULL,
    symbology TEXT,
    scanner TEXT NOT NULL,
    gate TEXT NOT NULL,
    direction TEXT NOT NULL,
    reason TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    decided_by TEXT NOT NULL,
    scanned_at_ms INTEGER NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    nonce TEXT,
    sent_at_ms INTEGER,
    sync_result TEXT,
    warning TEXT
);
CREATE INDEX IF NOT EXISTS scans_unsent ON scans (seq) WHERE sent_at_ms IS NULL;
CREATE TABLE IF NOT EXISTS passes (
    ticket_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    gate TEXT NOT NULL,
    direction TEXT NOT NULL,
    device_id TEXT NOT NULL,
    source TEXT NOT NULL,
    scan_id TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS passes_ticket ON passes (ticket_id, at_ms);
CREATE TABLE IF NOT EXISTS bad_reads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    scanner TEXT NOT NULL,
    gate TEXT NOT NULL,
    reason TEXT NOT NULL,
    symbology TEXT,
    length INTEGER NOT NULL,
    payload_sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    nonce TEXT PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
"""

_INSERT_SCAN = """
INSERT OR IGNORE INTO scans (scan_id, ticket_id, raw, symbology, scanner, gate, direction,
    reason, allowed, decided_by, scanned_at_ms, recorded_at_ms, nonce, sent_at_ms, sync_result,
    warning)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_PASSAGE = """
INSERT OR IGNORE INTO passes (ticket_id, at_ms, gate, direction, device_id, source, scan_id)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_NONCE = "INSERT OR IGNORE INTO nonces (nonce, expires_at_ms) VALUES (?, ?)"


ONLINE = "online"
"""``decided_by`` of scans the backend decided; they never enter the outbox."""

_RECENT_KEYS = (
    "scan_id", "ticket_id", "scanner", "gate", "direction", "reason", "allowed",
    "decided_by", "scanned_at_ms", "recorded_at_ms", "sync_result", "warning",
)  # fmt: skip

_ADDED_COLUMNS = (("scans", "warning", "TEXT"),)
"""Columns added after the first release: journals made before them get them at open."""


class JournalSync(StrEnum):
    """What a journal commit waits for before the scanner is told (see the module doc)."""

    FULL = "full"
    NORMAL = "normal"


DEFAULT_FLUSH_INTERVAL_S = 0.1


class JournalError(Exception):
    """The journal file cannot be opened (damaged, not a journal, unreadable)."""


class JournalClosed(RuntimeError):
    """An append arrived after the journal was closed: the scan must not get a green light."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One decision as the gate made it. ``raw`` is cut to MAX_RAW_BYTES when stored."""

    scan_id: str
    device_id: str
    ticket_id: str | None
    raw: bytes
    symbology: str | None
    scanner: str
    gate: str
    direction: Direction
    reason: Reason
    allowed: bool
    decided_by: str
    scanned_at_ms: int
    nonce: str | None = None
    nonce_expires_at_ms: int | None = None
    warning: str | None = None
    """Why an admission needs a second look (admitted on an expired manifest)."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A journaled scan not yet accepted by the backend."""

    seq: int
    scan_id: str
    ticket_id: str | None
    raw: bytes
    scanner: str
    gate: str
    direction: Direction
    reason: Reason
    allowed: bool
    decided_by: str
    scanned_at_ms: int
    warning: str | None = None


_MARK_SENT_CHUNK = 100
"""Rows per transaction when marking scans sent: the loop's next commit waits for at
most one chunk, never for a whole outbox batch."""


class Journal:
    """The journal file, its group commit on the event loop, and its keeper thread."""

    def __init__(
        self,
        path: Path,
        *,
        clock_ms: Any = None,
        sync: JournalSync = JournalSync.FULL,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    ) -> None:
        self.path = path
        self.sync = sync
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        # Both modes commit with synchronous=NORMAL: `full` gets its fsync from the keeper.
        self._write_lock = threading.Lock()
        self._reader_lock = threading.Lock()
        try:
            self._conn = self._connect(path)
            self._conn.executescript(_SCHEMA)
            _add_missing_columns(self._conn)
            # Checkpoints belong to the WalKeeper thread, not to whichever commit is unlucky.
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._reader = self._connect(path)
            self._scans = int(self._query("SELECT count(*) FROM scans")[0][0])
            self._unsent = self._count_unsent()
            self._sync_results = self._count_sync_results()
        except sqlite3.Error as exc:
            # A damaged or foreign file: one line for the operator, not a traceback.
            raise JournalError(f"cannot open the journal {path}: {exc}") from None
        self._closed = False
        self.failure: BaseException | None = None
        self.commits = 0
        """Transactions committed, by any path: what the keeper's flushes are counted in."""
        # The event loop's group commit (see the module doc).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued: list[JournalEntry] = []
        self._commit_soon: asyncio.Handle | None = None
        self._advanced = asyncio.Event()
        self._awaiting_fsync: deque[tuple[int, int]] = deque()
        self.enqueued = 0
        self.committed = 0
        """Entries of the loop's queue committed (not necessarily fsynced)."""
        self.durable = 0
        """Entries of the loop's queue as durable as ``sync`` promises: what ``wait`` awaits."""
        self.on_commit: Callable[[Sequence[JournalEntry]], None] | None = None
        """Told of every entry the loop's group commit wrote, right after the commit (the
        gate mesh shares admissions from here); it must not block."""
        self.keeper = WalKeeper(
            path,
            committed=lambda: self.commits,
            flush_interval_s=flush_interval_s if sync is JournalSync.NORMAL else None,
            checkpoint_interval_s=checkpoint_interval_s,
            on_flushed=self._on_flushed,
        )

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        private_file(path)  # scans, nonces and conflicts: 0600 whatever the umask
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    # -- the event loop's group commit -----------------------------------------------

    def enqueue(self, entries: Sequence[JournalEntry]) -> int:
        """Queue entries for this loop turn's commit; returns their mark for ``wait``.

        Call from the event loop. Raises JournalClosed once the journal is closed or a
        commit has failed: no scan may get a green light after that.
        """
        self._refuse_if_unusable()
        if self._commit_soon is None:
            self._bind(asyncio.get_running_loop())
            assert self._loop is not None
            self._commit_soon = self._loop.call_soon(self._commit_queued)
        self._queued.extend(entries)
        self.enqueued += len(entries)
        return self.enqueued

    async def wait(self, mark: int) -> None:
        """Return once every entry up to ``mark`` is durable (see ``sync``).

        Raises JournalClosed if the journal failed first: the scan is not on disk.
        """
        while self.durable < mark:
            if self.failure is not None:
                raise JournalClosed(f"the journal failed: {self.failure}")
            await self._advanced.wait()

    async def append(self, *entries: JournalEntry) -> None:
        """Append on the running loop and wait until durable."""
        await self.wait(self.enqueue(entries))

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:  # a new loop (tests run several): wake-ups follow it
            self._loop = loop
            self._advanced = asyncio.Event()

    def _refuse_if_unusable(self) -> None:
        if self._closed:
            raise JournalClosed("the journal is closed")
        if self.failure is not None:
            raise JournalClosed(f"the journal failed: {self.failure}")

    def _commit_queued(self) -> None:
        entries, self._queued, self._commit_soon = self._queued, [], None
        if not entries:
            return
        try:
            self._commit(entries)
        except Exception:  # handed to every waiter by _wake, never swallowed
            log.exception("journal commit of %d scan(s) failed", len(entries))
            self._wake()
            return
        self.committed += len(entries)
        if self.sync is JournalSync.FULL:
            self._awaiting_fsync.append((self.commits, self.committed))
            self.keeper.request_flush()
        else:
            self.durable = self.committed
            self._wake()
        # After the wake-up: whatever the hook schedules runs after the lanes' feedback.
        if self.on_commit is not None:
            try:
                self.on_commit(entries)
            except Exception:  # sharing is best effort; the scan is journaled
                log.exception("after-commit hook failed")

    def _on_flushed(self, commits: int, error: OSError | None) -> None:
        """From the keeper (any thread): the log is fsynced up to ``commits``, or broken."""
        if error is not None:
            # A failed fsync leaves the page cache untrustworthy: stop every green light.
            self.failure = error
        elif self.sync is not JournalSync.FULL:
            return  # `normal` answered at the commit: nobody waits for this flush
        loop = self._loop
        if loop is None:
            return
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._fsynced_up_to, commits if error is None else 0)

    def _fsynced_up_to(self, commits: int) -> None:
        waiting = self._awaiting_fsync
        while waiting and waiting[0][0] <= commits:
            self.durable = waiting.popleft()[1]
        self._wake()

    def _wake(self) -> None:
        woken, self._advanced = self._advanced, asyncio.Event()
        woken.set()

    # -- writing from any thread -----------------------------------------------------

    def append_sync(self, *entries: JournalEntry) -> None:
        """Append in the caller's thread; returns once durable (for tools and tests)."""
        self._refuse_if_unusable()
        self._commit(list(entries))
        if self.sync is JournalSync.FULL:
            self.keeper.flush_now()
            if self.failure is not None:
                raise JournalClosed(f"the journal failed: {self.failure}")

    def _commit(self, entries: list[JournalEntry]) -> None:
        """One transaction of all the entries; a failure is kept and refuses what follows."""
        try:
            with self._write_lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    inserted = self._write(entries)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._count_inserted(entries, inserted)
                self.commits += 1
        except Exception as error:
            # A journal that cannot write must not let any later scan through either.
            self.failure = error
            raise

    def _count_inserted(self, entries: list[JournalEntry], inserted: int) -> None:
        self._scans += inserted
        if inserted == len(entries):
            self._unsent += sum(1 for e in entries if e.decided_by != ONLINE)
        else:  # a scan id seen before was ignored: count what is really there
            self._unsent = self._count_unsent()

    def _write(self, entries: list[JournalEntry]) -> int:
        """Insert the entries' rows; returns how many scans were new."""
        recorded_at = self._clock_ms()
        scans = self._conn.executemany(
            _INSERT_SCAN,
            [
                (
                    e.scan_id,
                    e.ticket_id,
                    e.raw[:MAX_RAW_BYTES],
                    e.symbology,
                    e.scanner,
                    e.gate,
                    e.direction.value,
                    e.reason.value,
                    int(e.allowed),
                    e.decided_by,
                    e.scanned_at_ms,
                    recorded_at,
                    e.nonce,
                    # The backend decided (and recorded) online scans itself: not outbox.
                    recorded_at if e.decided_by == ONLINE else None,
                    ONLINE if e.decided_by == ONLINE else None,
                    e.warning,
                )
                for e in entries
            ],
        )
        self._conn.executemany(
            _INSERT_PASSAGE,
            [
                (
                    e.ticket_id,
                    e.scanned_at_ms,
                    e.gate,
                    e.direction.value,
                    e.device_id,
                    "local",
                    e.scan_id,
                )
                for e in entries
                if e.allowed and e.ticket_id is not None
            ],
        )
        self._conn.executemany(
            _INSERT_NONCE,
            [
                (e.nonce, e.nonce_expires_at_ms)
                for e in entries
                if e.nonce is not None and e.nonce_expires_at_ms is not None
            ],
        )
        return scans.rowcount

    def record_bad_read(self, entry: BadReadEntry) -> None:
        """Store a read that was answered without a decision (its own table: not a scan).

        Committed at once, in its own small transaction: nothing waits on it (a bad read
        opens no gate), so it needs neither the group commit nor the fsync.
        """
        self._refuse_if_unusable()
        with self._write_lock:
            self._conn.execute(
                "INSERT INTO bad_reads (at_ms, scanner, gate, reason, symbology, length,"
                " payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.at_ms,
                    entry.scanner,
                    entry.gate,
                    entry.reason.value,
                    entry.symbology,
                    entry.length,
                    entry.payload_sha256,
                ),
            )
            self.commits += 1

    def bad_read_counts_by_scanner(self) -> dict[str, dict[str, int]]:
        """How many bad reads each scanner had, by reason (to seed counters at start)."""
        return _by_scanner(
            self._query("SELECT scanner, reason, count(*) FROM bad_reads GROUP BY scanner, reason")
        )

    def recent_bad_reads(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest bad reads, newest first, as plain data."""
        rows = self._query(
            "SELECT at_ms, scanner, gate, reason, symbology, length, payload_sha256"
            " FROM bad_reads ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        keys = ("at_ms", "scanner", "gate", "reason", "symbology", "length", "payload_sha256")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def record_passes(self, passes: Iterable[tuple[str, PastScan, str, str]]) -> None:
        """Store passes learnt elsewhere: (ticket_id, pass, source, unique id) each."""
        rows = [
            (ticket, p.at_ms, p.gate, p.direction.value, p.device_id, source, uid)
            for ticket, p, source, uid in passes
        ]
        with self._write_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(_INSERT_PASSAGE, rows)
            self._conn.execute("COMMIT")
            self.commits += 1

    # -- reading ---------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._reader_lock:
            return self._reader.execute(sql, params).fetchall()

    def load_history(self) -> dict[str, list[PastScan]]:
        """Every ticket's passes, oldest first, to seed the in-memory state at start."""
        history: dict[str, list[PastScan]] = {}
        rows = self._query(
            "SELECT ticket_id, at_ms, gate, direction, device_id FROM passes ORDER BY at_ms, rowid"
        )
        for ticket_id, at_ms, gate, direction, device_id in rows:
            history.setdefault(ticket_id, []).append(
                PastScan(at_ms, gate, Direction(direction), device_id)
            )
        return history

    def load_nonces(self, now_ms: int) -> dict[str, int]:
        """Nonces still within their lifetime, with their expiry."""
        rows = self._query(
            "SELECT nonce, expires_at_ms FROM nonces WHERE expires_at_ms > ?", (now_ms,)
        )
        return dict(rows)

    def forget_nonces(self, now_ms: int) -> int:
        """Drop nonces whose codes can no longer be valid; returns how many."""
        with self._write_lock:
            cursor = self._conn.execute("DELETE FROM nonces WHERE expires_at_ms <= ?", (now_ms,))
            self.commits += 1
            return cursor.rowcount

    def counts_by_scanner(self) -> dict[str, dict[str, int]]:
        """How many scans each scanner journaled, by reason (to seed counters at start)."""
        return _by_scanner(
            self._query("SELECT scanner, reason, count(*) FROM scans GROUP BY scanner, reason")
        )

    def count(self) -> int:
        """How many scans the journal holds (kept in memory: free to ask)."""
        return self._scans

    def scan_ids(self) -> set[str]:
        return {row[0] for row in self._query("SELECT scan_id FROM scans")}

    def recent(
        self,
        limit: int = 50,
        *,
        gate: str | None = None,
        reason: str | None = None,
        ticket: str | None = None,
    ) -> list[dict[str, Any]]:
        """The newest journaled scans, newest first, as plain data, optionally filtered."""
        rows = self._query(
            "SELECT scan_id, ticket_id, scanner, gate, direction, reason, allowed, decided_by,"
            " scanned_at_ms, recorded_at_ms, sync_result, warning FROM scans"
            " WHERE (?1 IS NULL OR gate = ?1) AND (?2 IS NULL OR reason = ?2)"
            " AND (?3 IS NULL OR ticket_id = ?3) ORDER BY seq DESC LIMIT ?4",
            (gate, reason, ticket, limit),
        )
        return [dict(zip(_RECENT_KEYS, row, strict=True)) for row in rows]

    # -- outbox ----------------------------------------------------------------------

    def unsent(self, limit: int = 500) -> list[OutboxRow]:
        """The oldest journaled scans the backend has not accepted yet."""
        rows = self._query(
            "SELECT seq, scan_id, ticket_id, raw, scanner, gate, direction, reason, allowed,"
            " decided_by, scanned_at_ms, warning FROM scans WHERE sent_at_ms IS NULL"
            " ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [_outbox_row(row) for row in rows]

    def accepted_admissions(self) -> list[OutboxRow]:
        """Offline admissions the backend accepted: the ones later uploads of other gates
        may put in conflict (re-sending them is idempotent and reports that)."""
        rows = self._query(
            "SELECT seq, scan_id, ticket_id, raw, scanner, gate, direction, reason, allowed,"
            " decided_by, scanned_at_ms, warning FROM scans WHERE sync_result = 'accepted'"
            " AND allowed = 1 AND direction = 'entry' AND decided_by = 'offline' ORDER BY seq"
        )
        return [_outbox_row(row) for row in rows]

    def unsent_count(self) -> int:
        """How many scans the backend has not accepted yet (kept in memory: free to ask)."""
        return self._unsent

    def _count_unsent(self) -> int:
        return int(self._query("SELECT count(*) FROM scans WHERE sent_at_ms IS NULL")[0][0])

    def mark_sent(self, results: dict[str, str], sent_at_ms: int) -> None:
        """Mark scans as accepted by the backend, with its per-scan answer."""
        rows = [(sent_at_ms, result, scan_id) for scan_id, result in results.items()]
        # In chunks: a scan committed on the loop waits for one chunk at most.
        for start in range(0, len(rows), _MARK_SENT_CHUNK):
            with self._write_lock:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    "UPDATE scans SET sent_at_ms = ?, sync_result = ? WHERE scan_id = ?",
                    rows[start : start + _MARK_SENT_CHUNK],
                )
                self._conn.execute("COMMIT")
                self.commits += 1
        with self._write_lock:
            self._unsent = self._count_unsent()
            self._sync_results = self._count_sync_results()

    def outbox_states(self) -> dict[str, int]:
        """Offline-decided scans by outbox state: ``pending`` (not yet accepted by the
        backend), then one count per answer it gave (accepted, duplicate, conflict, …).
        Kept in memory: free to ask (metrics)."""
        return {"pending": self._unsent, **self._sync_results}

    def _count_sync_results(self) -> dict[str, int]:
        rows = self._query(
            "SELECT coalesce(sync_result, 'sent'), count(*) FROM scans"
            " WHERE sent_at_ms IS NOT NULL GROUP BY 1"
        )
        return {str(result): int(count) for result, count in rows}

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Commit what the loop has queued, flush, stop the keeper and close the file.

        Call from the loop's thread (or with nothing queued).
        """
        if self._closed:
            return
        if self._commit_soon is not None:
            self._commit_soon.cancel()
            self._commit_queued()
        self._closed = True
        self.keeper.close()
        with self._reader_lock:
            self._reader.close()
        with self._write_lock:
            self._conn.close()

    def integrity_ok(self) -> bool:
        return bool(self._query("PRAGMA integrity_check")[0][0] == "ok")


def _by_scanner(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, int]]:
    """(scanner, reason, count) rows as {scanner: {reason: count}}."""
    counts: dict[str, dict[str, int]] = {}
    for scanner, reason, count in rows:
        counts.setdefault(scanner, {})[reason] = int(count)
    return counts


def _outbox_row(row: tuple[Any, ...]) -> OutboxRow:
    seq, scan_id, ticket, raw, scanner, gate, direction, reason, allowed, by, at, warning = row
    return OutboxRow(
        seq, scan_id, ticket, raw, scanner, gate, Direction(direction), Reason(reason),
        bool(allowed), by, at, warning,
    )  # fmt: skip


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Give a journal made by an earlier release the columns added since (nullable)."""
    for table, column, kind in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
