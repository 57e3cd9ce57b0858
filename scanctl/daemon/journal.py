"""The gate's durable journal: every decision, committed before the gate is told.

One SQLite file (WAL) holds the append-only scan journal, the passes that make up each
ticket's history (our own admissions and, later, those learnt from the backend or peer
gates), the nonces seen, and the outbox state of each scan.

Writes go through one writer thread that group-commits: every append waiting when a
commit starts rides in that commit, so a burst costs one commit rather than one per
scan, and no append returns before its commit. What a commit promises is the
``JournalSync`` mode: ``full`` fsyncs every commit (the scan survives a power cut the
moment it is acknowledged); ``normal`` hands it to the operating system (it survives any
crash of the daemon at once, and a power cut once `WalKeeper` fsyncs the log, within
``flush_interval_s``). Checkpoints run in `WalKeeper`'s thread, never inside a commit.

Reads use a second connection (WAL readers never wait for the writer), and the counts
the status page shows are kept in memory, so nothing on the event loop waits for a
commit or its fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from scanctl.core import Direction, PastScan, Reason
from scanctl.storage import CHECKPOINT_INTERVAL_S, WalKeeper

__all__ = [
    "MAX_RAW_BYTES",
    "CommitWatch",
    "Journal",
    "JournalClosed",
    "JournalEntry",
    "JournalSync",
    "OutboxRow",
]

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
    sync_result TEXT
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
CREATE TABLE IF NOT EXISTS nonces (
    nonce TEXT PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
"""

_INSERT_SCAN = """
INSERT OR IGNORE INTO scans (scan_id, ticket_id, raw, symbology, scanner, gate, direction,
    reason, allowed, decided_by, scanned_at_ms, recorded_at_ms, nonce, sent_at_ms, sync_result)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
    "decided_by", "scanned_at_ms", "recorded_at_ms", "sync_result",
)  # fmt: skip


class JournalSync(StrEnum):
    """What a journal commit waits for before the scanner is told (see the module doc)."""

    FULL = "full"
    NORMAL = "normal"


DEFAULT_FLUSH_INTERVAL_S = 0.1


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


_Batch = tuple[Sequence[JournalEntry], Future[None] | None]
_STOP = None
CommitListener = Callable[[int, BaseException | None], None]


class Journal:
    """The journal file and its single writer thread."""

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
        self._conn = self._connect(path, sync)
        self._conn.executescript(_SCHEMA)
        # Checkpoints belong to the WalKeeper thread, not to whichever commit is unlucky.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._write_lock = threading.Lock()
        self._reader = self._connect(path, sync)
        self._reader_lock = threading.Lock()
        self._scans = int(self._query("SELECT count(*) FROM scans")[0][0])
        self._unsent = self._count_unsent()
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._order_lock = threading.Lock()
        self._closed = False
        self._listeners: list[CommitListener] = []
        self.enqueued = 0
        self.committed = 0
        self.failure: BaseException | None = None
        self.commits = 0
        self._writer = threading.Thread(target=self._write_loop, name="journal-writer", daemon=True)
        self._writer.start()
        self.keeper = WalKeeper(
            path,
            committed=lambda: self.committed,
            flush_interval_s=flush_interval_s if sync is JournalSync.NORMAL else None,
            checkpoint_interval_s=checkpoint_interval_s,
        )

    @staticmethod
    def _connect(path: Path, sync: JournalSync) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={sync.value.upper()}")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    # -- writing ---------------------------------------------------------------------

    def submit(self, entries: Sequence[JournalEntry]) -> Future[None]:
        """Queue entries for the next group commit; the future resolves once on disk."""
        done: Future[None] = Future()
        self._put(entries, done)
        return done

    def enqueue(self, entries: Sequence[JournalEntry]) -> int:
        """Queue entries without a future (the hot path); returns their commit mark.

        Entries are numbered in the order they are queued; once ``committed`` reaches
        the returned mark they are on disk (watch it with ``CommitWatch``).
        """
        return self._put(entries, None)

    def _put(self, entries: Sequence[JournalEntry], done: Future[None] | None) -> int:
        with self._order_lock:
            if self._closed:
                raise JournalClosed("the journal is closed")
            if self.failure is not None:
                raise JournalClosed(f"the journal failed: {self.failure}")
            self.enqueued += len(entries)
            self._queue.put((entries, done))
            return self.enqueued

    def add_listener(self, listener: CommitListener) -> None:
        """Call ``listener(committed, failure)`` from the writer thread after each commit."""
        self._listeners.append(listener)

    def append_sync(self, *entries: JournalEntry) -> None:
        """Append and wait until committed (for tools and tests)."""
        self.submit(entries).result()

    async def append(self, *entries: JournalEntry) -> None:
        """Append and wait, without blocking the event loop, until committed."""
        await asyncio.wrap_future(self.submit(entries))

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop_after = False
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop_after = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop_after:
                return

    def _commit(self, batch: list[_Batch]) -> None:
        entries = [entry for group, _ in batch for entry in group]
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
            self.committed += len(entries)
        except Exception as error:  # handed to every waiter, never swallowed
            # A journal that cannot write must not let any later scan through either.
            self.failure = error
            for _, done in batch:
                if done is not None:
                    done.set_exception(error)
            self._tell_listeners()
            return
        for _, done in batch:
            if done is not None:
                done.set_result(None)
        self._tell_listeners()

    def _tell_listeners(self) -> None:
        for listener in self._listeners:
            listener(self.committed, self.failure)

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
            return cursor.rowcount

    def counts_by_scanner(self) -> dict[str, dict[str, int]]:
        """How many scans each scanner journaled, by reason (to seed counters at start)."""
        counts: dict[str, dict[str, int]] = {}
        rows = self._query("SELECT scanner, reason, count(*) FROM scans GROUP BY scanner, reason")
        for scanner, reason, count in rows:
            counts.setdefault(scanner, {})[reason] = int(count)
        return counts

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
            " scanned_at_ms, recorded_at_ms, sync_result FROM scans"
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
            " decided_by, scanned_at_ms FROM scans WHERE sent_at_ms IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [_outbox_row(row) for row in rows]

    def accepted_admissions(self) -> list[OutboxRow]:
        """Offline admissions the backend accepted: the ones later uploads of other gates
        may put in conflict (re-sending them is idempotent and reports that)."""
        rows = self._query(
            "SELECT seq, scan_id, ticket_id, raw, scanner, gate, direction, reason, allowed,"
            " decided_by, scanned_at_ms FROM scans WHERE sync_result = 'accepted'"
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
        with self._write_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "UPDATE scans SET sent_at_ms = ?, sync_result = ? WHERE scan_id = ?",
                [(sent_at_ms, result, scan_id) for scan_id, result in results.items()],
            )
            self._conn.execute("COMMIT")
            self._unsent = self._count_unsent()

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Flush what is queued, stop the writer and close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._writer.join()
        self.keeper.close()
        with self._reader_lock:
            self._reader.close()
        with self._write_lock:
            self._conn.close()

    def integrity_ok(self) -> bool:
        return bool(self._query("PRAGMA integrity_check")[0][0] == "ok")


def _outbox_row(row: tuple[Any, ...]) -> OutboxRow:
    seq, scan_id, ticket, raw, scanner, gate, direction, reason, allowed, by, at = row
    return OutboxRow(
        seq, scan_id, ticket, raw, scanner, gate, Direction(direction), Reason(reason),
        bool(allowed), by, at,
    )  # fmt: skip


class CommitWatch:
    """The journal's commit mark, seen from an asyncio event loop.

    The writer thread reports each commit once (one ``call_soon_threadsafe`` per commit,
    not per scan); ``await wait(mark)`` returns once every entry up to ``mark`` is on
    disk, or raises JournalClosed if the journal failed before that.
    """

    def __init__(self, journal: Journal, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.committed = journal.committed
        self.failure: BaseException | None = journal.failure
        self._advanced = asyncio.Event()
        journal.add_listener(self._from_writer)

    def _from_writer(self, committed: int, failure: BaseException | None) -> None:
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._advance, committed, failure)

    def _advance(self, committed: int, failure: BaseException | None) -> None:
        self.committed = committed
        self.failure = failure
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    async def wait(self, mark: int) -> None:
        while self.committed < mark:
            if self.failure is not None:
                raise JournalClosed(f"the journal failed: {self.failure}")
            await self._advanced.wait()
