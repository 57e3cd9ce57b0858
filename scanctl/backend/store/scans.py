"""Scans: every decision, admitted or denied, online or offline; a ticket's history; paging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    collate,
    or_,
    select,
    text,
    tuple_,
    update,
)

from scanctl.backend.db.schema import scans
from scanctl.backend.store.events import get_event
from scanctl.backend.store.scope import Scope
from scanctl.core import Direction, PastScan

__all__ = [
    "MAX_RAW_LENGTH",
    "ScanRecord",
    "admitted_histories",
    "admitted_history",
    "insert_scans",
    "list_scans",
    "record_of",
    "replace_decision",
    "scans_by_device_id",
    "ticket_key",
]

_IN_CHUNK = 500

MAX_RAW_LENGTH = 512
"""Stored payloads are cut to this many characters (scanners send garbage too)."""


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One recorded scan. ``decided_by`` is ``online`` or ``offline``; times in ms."""

    id: str
    event_id: str
    ticket_id: str | None
    device_id: str
    gate: str | None
    direction: Direction
    raw: str
    reason: str
    allowed: bool
    decided_by: str
    scanned_at_ms: int
    recorded_at_ms: int
    late: bool = False
    warning: str | None = None
    """Why the gate flagged the admission (admitted on an expired manifest)."""
    client_metadata: str | None = None
    """The client's ``metadata`` object sent with the scan, as compact JSON."""

    @property
    def is_admission(self) -> bool:
        """Admissions are admitted entries (exits never count against a ticket)."""
        return self.allowed and self.direction is Direction.ENTRY


def _row(scope: Scope, record: ScanRecord) -> dict[str, object]:
    return {
        "tenant_id": scope.tenant_id,
        "id": record.id,
        "event_id": record.event_id,
        "ticket_id": record.ticket_id,
        "device_id": record.device_id,
        "gate": record.gate,
        "direction": record.direction.value,
        "raw": record.raw[:MAX_RAW_LENGTH],
        "reason": record.reason,
        "allowed": record.allowed,
        "decided_by": record.decided_by,
        "scanned_at_ms": record.scanned_at_ms,
        "recorded_at_ms": record.recorded_at_ms,
        "late": record.late,
        "warning": record.warning,
        "client_metadata": record.client_metadata,
    }


def insert_scans(scope: Scope, conn: Connection, records: Sequence[ScanRecord]) -> None:
    """Record scans in the caller's transaction (one executemany for a whole batch)."""
    if not records:
        return
    rows = [_row(scope, r) for r in records]
    if conn.dialect.name == "sqlite":
        # The driver's executemany: SQLAlchemy's per-row parameter processing costs more
        # than the insert itself, and the writer holds the GIL meanwhile. Plain values
        # only (text, int, bool stored as 0/1 — what the Boolean type stores too).
        conn.exec_driver_sql(_SQLITE_INSERT, [tuple(row[c] for c in _ROW_COLUMNS) for row in rows])
        return
    conn.execute(scans.insert(), rows)


_ROW_COLUMNS = (
    "tenant_id",
    "id",
    "event_id",
    "ticket_id",
    "device_id",
    "gate",
    "direction",
    "raw",
    "reason",
    "allowed",
    "decided_by",
    "scanned_at_ms",
    "recorded_at_ms",
    "late",
    "warning",
    "client_metadata",
)
_SQLITE_INSERT = (
    "INSERT INTO scans (tenant_id, id, event_id, ticket_id, device_id, gate, direction, raw,"
    " reason, allowed, decided_by, scanned_at_ms, recorded_at_ms, late, warning,"
    " client_metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def scans_by_device_id(
    scope: Scope, conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ScanRecord]:
    """The stored scans among ``keys`` — (device id, scan id): a scan id names a scan of
    the device that made it, never another device's."""
    wanted = sorted(set(keys))
    found: dict[tuple[str, str], ScanRecord] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        rows = conn.execute(
            select(scans).where(
                scans.c.tenant_id == scope.tenant_id,
                tuple_(scans.c.device_id, scans.c.id).in_(wanted[start : start + _IN_CHUNK]),
            )
        )
        for row in rows:
            record = record_of(row)
            found[(record.device_id, record.id)] = record
    return found


def replace_decision(scope: Scope, conn: Connection, record: ScanRecord) -> None:
    """Store another decision for a recorded scan (same device and id): what the gate did
    at the door when it never heard the backend's answer."""
    conn.execute(
        update(scans)
        .where(
            scans.c.tenant_id == scope.tenant_id,
            scans.c.device_id == record.device_id,
            scans.c.id == record.id,
        )
        .values(
            ticket_id=record.ticket_id,
            gate=record.gate,
            direction=record.direction.value,
            reason=record.reason,
            allowed=record.allowed,
            decided_by=record.decided_by,
            scanned_at_ms=record.scanned_at_ms,
            recorded_at_ms=record.recorded_at_ms,
            late=record.late,
            warning=record.warning,
        )
    )


def ticket_key(
    conn: Connection,
) -> tuple[ColumnElement[str], ColumnElement[str], ColumnElement[str]]:
    """scans' (tenant_id, event_id, ticket_id) as the ticket index holds them: bytewise
    on PostgreSQL, where conditions on these then match that index and no other
    (`db.schema`, next to the index). Filter a ticket's scans with these, never with the
    plain columns; the results are the same (byte equality is equality)."""
    if conn.dialect.name != "postgresql":
        return scans.c.tenant_id, scans.c.event_id, scans.c.ticket_id
    return (
        collate(scans.c.tenant_id, "C"),
        collate(scans.c.event_id, "C"),
        collate(scans.c.ticket_id, "C"),
    )


def admitted_history(
    scope: Scope, conn: Connection, event_id: str, ticket_id: str
) -> list[PastScan]:
    """The ticket's admitted passes (entries and exits), oldest first, for decide()."""
    tenant, event, ticket = ticket_key(conn)
    rows = conn.execute(
        select(scans.c.scanned_at_ms, scans.c.gate, scans.c.direction, scans.c.device_id)
        .where(
            tenant == scope.tenant_id,
            event == event_id,
            ticket == ticket_id,
            scans.c.allowed.is_(True),
        )
        .order_by(scans.c.scanned_at_ms, scans.c.id)
    ).all()
    return [
        PastScan(at, gate or "", Direction(direction), device)
        for at, gate, direction, device in rows
    ]


# The writer runs this for every batch. One index probe per ticket, written so that the
# plan does not depend on statistics: with an ``IN`` list and a table not analyzed yet
# (a fresh database, or autovacuum off) PostgreSQL took the event's other index and
# filtered every scan of the event — 17 ms at 20,000 scans, growing with each one. The
# bytewise comparisons are `ticket_key`'s: without them the recorded_at index still won
# whenever its B-tree was a level shallower (10,000 scans).
_HISTORIES_PG = text(
    "SELECT wanted.id, s.scanned_at_ms, s.gate, s.direction, s.device_id"
    " FROM unnest(CAST(:tickets AS varchar[])) AS wanted(id) CROSS JOIN LATERAL"
    " (SELECT scanned_at_ms, gate, direction, device_id, id FROM scans"
    '  WHERE tenant_id COLLATE "C" = :tenant AND event_id COLLATE "C" = :event'
    '  AND ticket_id COLLATE "C" = wanted.id AND allowed'
    "  ORDER BY scanned_at_ms, id OFFSET 0) AS s"
    " ORDER BY wanted.id, s.scanned_at_ms, s.id"
)


def admitted_histories(
    scope: Scope, conn: Connection, event_id: str, ticket_ids: Sequence[str]
) -> dict[str, list[PastScan]]:
    """`admitted_history` of many tickets of one event at once (one query per 500)."""
    wanted = sorted(set(ticket_ids))
    found: dict[str, list[PastScan]] = {ticket: [] for ticket in wanted}
    if conn.dialect.name == "postgresql":
        params = {"tenant": scope.tenant_id, "event": event_id, "tickets": wanted}
        for ticket, at, gate, direction, device in conn.execute(_HISTORIES_PG, params):
            found[ticket].append(PastScan(at, gate or "", Direction(direction), device))
        return found
    tenant, event, ticket = ticket_key(conn)
    for start in range(0, len(wanted), _IN_CHUNK):
        rows = conn.execute(
            select(
                scans.c.ticket_id,
                scans.c.scanned_at_ms,
                scans.c.gate,
                scans.c.direction,
                scans.c.device_id,
            )
            .where(
                tenant == scope.tenant_id,
                event == event_id,
                ticket.in_(wanted[start : start + _IN_CHUNK]),
                scans.c.allowed.is_(True),
            )
            .order_by(scans.c.ticket_id, scans.c.scanned_at_ms, scans.c.id)
        )
        for ticket, at, gate, direction, device in rows:
            found[ticket].append(PastScan(at, gate or "", Direction(direction), device))
    return found


def record_of(row: Row[tuple[object, ...]]) -> ScanRecord:
    """A row of the scans table as a ScanRecord."""
    m = row._mapping
    return ScanRecord(
        id=m["id"],
        event_id=m["event_id"],
        ticket_id=m["ticket_id"],
        device_id=m["device_id"],
        gate=m["gate"],
        direction=Direction(m["direction"]),
        raw=m["raw"],
        reason=m["reason"],
        allowed=bool(m["allowed"]),
        decided_by=m["decided_by"],
        scanned_at_ms=m["scanned_at_ms"],
        recorded_at_ms=m["recorded_at_ms"],
        late=bool(m["late"]),
        warning=m["warning"],
        client_metadata=m["client_metadata"],
    )


def list_scans(
    scope: Scope,
    conn: Connection,
    event_id: str,
    *,
    since_ms: int | None = None,
    after: tuple[int, str] | None = None,
    limit: int = 100,
) -> list[ScanRecord]:
    """One page of an event's scans in the order they were recorded (oldest first).

    ``since_ms`` keeps scans recorded at or after that moment; ``after`` is the
    (recorded_at_ms, id) of the last scan of the previous page. Ordering by the time a
    scan reached the backend (not when it was scanned) means late offline uploads are
    never skipped by a client that polls with the last cursor it saw.
    """
    get_event(scope, conn, event_id)
    query = select(scans).where(
        scope.tenant_filter(scans.c.tenant_id), scans.c.event_id == event_id
    )
    if since_ms is not None:
        query = query.where(scans.c.recorded_at_ms >= since_ms)
    if after is not None:
        at, scan_id = after
        query = query.where(
            or_(
                scans.c.recorded_at_ms > at,
                and_(scans.c.recorded_at_ms == at, scans.c.id > scan_id),
            )
        )
    rows = conn.execute(query.order_by(scans.c.recorded_at_ms, scans.c.id).limit(limit)).all()
    return [record_of(row) for row in rows]
