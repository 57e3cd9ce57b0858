"""The mesh's records on disk: every admission and exit of every gate of the event.

Kept in the journal's SQLite file (table ``mesh_records``), keyed by (origin, seq): a
record arriving twice — a push and then the anti-entropy resend, or the same record
through two peers — is stored and applied once. A peer's record also goes into the
journal's ``passes`` (source ``peer``), so a restarted daemon seeds the ticket histories
``decide()`` sees with it, and its nonce into ``nonces``; it never enters the outbox:
the gate that made it uploads it.

``have`` is, per origin, the highest seq held with no gap below it: what a heartbeat
announces and what a peer's resend starts after.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from scanctl.core import Direction, code_key
from scanctl.daemon.mesh.wire import MeshRecord

__all__ = ["MeshLog"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mesh_records (
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    scan_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    gate TEXT NOT NULL,
    lane TEXT,
    direction TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    code TEXT,
    code_expires_at_ms INTEGER,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (origin, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS mesh_records_scan ON mesh_records (origin, scan_id);
"""
_COLUMNS = (
    "origin, seq, scan_id, ticket_id, at_ms, gate, lane, direction, decided_by, code,"
    " code_expires_at_ms"
)


class MeshLog:
    """The records this gate holds, in memory (by origin and by ticket) and on disk."""

    def __init__(self, path: Path, device_id: str) -> None:
        self.device_id = device_id
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")
        # Commits happen on the daemon's loop, between decisions: never wait for an fsync
        # there (what a power cut takes, the peers still hold, and send again).
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        self._peer_db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._peer_db.execute("PRAGMA busy_timeout = 5000")
        self._peer_db.execute("PRAGMA synchronous = NORMAL")
        self._by_origin: dict[str, dict[int, MeshRecord]] = {}
        self.by_ticket: dict[str, list[MeshRecord]] = {}
        self.have: dict[str, int] = {}
        self.top: dict[str, int] = {}
        """Per origin, the highest seq held (above ``have`` where there are gaps)."""
        self.received_at: dict[tuple[str, int], int] = {}
        for row in self._db.execute(f"SELECT {_COLUMNS}, received_at_ms FROM mesh_records"):  # noqa: S608
            record = _record(row)
            self._hold(record)
            self.received_at[(record.origin, record.seq)] = int(row[-1])
        for origin in self._by_origin:
            self._advance(origin)

    def close(self) -> None:
        self._db.close()
        self._peer_db.close()

    @property
    def own_seq(self) -> int:
        """The seq of this gate's latest record (0: none yet)."""
        return self.top.get(self.device_id, 0)

    def holds(self, origin: str, seq: int) -> bool:
        return seq in self._by_origin.get(origin, ())

    def count(self, own: bool) -> int:
        return sum(
            len(held)
            for origin, held in self._by_origin.items()
            if (origin == self.device_id) == own
        )

    def add_own(self, records: Sequence[MeshRecord], now_ms: int) -> None:
        """Hold and write this gate's new records (numbered by the caller, from
        ``own_seq``). On the loop, at once: a seq sent to peers is a seq on disk."""
        self.hold(records, now_ms)
        self.write(records, now_ms, peers=False)

    def fresh(self, records: Iterable[MeshRecord]) -> list[MeshRecord]:
        """The records not held yet (in arrival order), each once."""
        fresh: list[MeshRecord] = []
        keys: set[tuple[str, int]] = set()
        for record in records:
            key = (record.origin, record.seq)
            if record.origin == self.device_id or key in keys or self.holds(*key):
                continue
            keys.add(key)
            fresh.append(record)
        return fresh

    def missing_for(self, have: dict[str, int], limit: int) -> list[MeshRecord]:
        """What a peer that holds ``have`` lacks of ours, oldest first, at most ``limit``."""
        missing: list[MeshRecord] = []
        for origin, top in self.top.items():
            held = self._by_origin[origin]
            for seq in range(have.get(origin, 0) + 1, top + 1):  # a heartbeat's hot path:
                record = held.get(seq)  # only what the peer lacks is looked at
                if record is not None:
                    missing.append(record)
                    if len(missing) >= limit:
                        return missing
        return missing

    def missing_locals(self) -> list[tuple[Any, ...]]:
        """This gate's admissions journaled but not in the mesh yet (a crash between the
        journal's commit and the mesh's), oldest first: (scan_id, at_ms, ticket, gate,
        direction, scanner, raw, decided_by, nonce expiry) each."""
        rows = self._db.execute(
            "SELECT p.scan_id, p.at_ms, p.ticket_id, p.gate, p.direction, s.scanner, s.raw,"
            " s.decided_by, n.expires_at_ms FROM passes p JOIN scans s ON s.scan_id = p.scan_id"
            " LEFT JOIN nonces n ON n.nonce = s.nonce"
            " WHERE p.source = 'local' AND p.scan_id NOT IN"
            " (SELECT scan_id FROM mesh_records WHERE origin = ?) ORDER BY p.at_ms, p.rowid",
            (self.device_id,),
        ).fetchall()
        return [tuple(row) for row in rows]

    def write(self, records: Sequence[MeshRecord], now_ms: int, *, peers: bool) -> None:
        """Put held records on disk. Peers' records go through a connection of their own
        (the node writes them from its writer thread; what a crash takes before then,
        the peers send again), and also into ``passes`` and ``nonces``, to seed a
        restart's ticket histories."""
        db = self._peer_db if peers else self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                f"INSERT OR IGNORE INTO mesh_records ({_COLUMNS}, received_at_ms)"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*_row(r), now_ms) for r in records],
            )
            if peers:
                db.executemany(
                    "INSERT OR IGNORE INTO passes (ticket_id, at_ms, gate, direction,"
                    " device_id, source, scan_id) VALUES (?, ?, ?, ?, ?, 'peer', ?)",
                    [
                        (r.ticket_id, r.at_ms, r.gate, r.direction.value, r.origin,
                         f"{r.origin}/{r.scan_id}")
                        for r in records
                    ],
                )  # fmt: skip
                db.executemany(
                    "INSERT OR IGNORE INTO nonces (nonce, expires_at_ms) VALUES (?, ?)",
                    [
                        (r.nonce, r.code_expires_at_ms)
                        for r in records
                        if r.nonce is not None and r.code_expires_at_ms is not None
                    ],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def hold(self, records: Sequence[MeshRecord], now_ms: int) -> None:
        """Take records into memory (the loop's view: ``have``, tickets, what to resend)."""
        origins = set()
        for record in records:
            self._hold(record)
            self.received_at[(record.origin, record.seq)] = now_ms
            origins.add(record.origin)
        for origin in origins:
            self._advance(origin)

    def _hold(self, record: MeshRecord) -> None:
        self._by_origin.setdefault(record.origin, {})[record.seq] = record
        if record.seq > self.top.get(record.origin, 0):
            self.top[record.origin] = record.seq
        self.by_ticket.setdefault(record.ticket_id, []).append(record)

    def _advance(self, origin: str) -> None:
        held = self._by_origin[origin]
        seq = self.have.get(origin, 0)
        while seq + 1 in held:
            seq += 1
        self.have[origin] = seq


def _row(record: MeshRecord) -> tuple[object, ...]:
    return (
        record.origin,
        record.seq,
        record.scan_id,
        record.ticket_id,
        record.at_ms,
        record.gate,
        record.lane,
        record.direction.value,
        record.decided_by,
        record.code,
        record.code_expires_at_ms,
    )


def _record(row: Sequence[object]) -> MeshRecord:
    origin, seq, scan_id, ticket, at_ms, gate, lane, direction, decided_by, code, expires = row[:11]
    return MeshRecord(
        str(origin),
        int(seq),  # type: ignore[call-overload]
        str(scan_id),
        str(ticket),
        int(at_ms),  # type: ignore[call-overload]
        str(gate),
        None if lane is None else str(lane),
        Direction(str(direction)),
        str(decided_by),
        None if code is None else str(code),
        None if expires is None else int(expires),  # type: ignore[call-overload]
    )


def code_of_raw(raw: bytes | str) -> str | None:
    """`core.code_key` of a journaled raw payload."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return code_key(text)
