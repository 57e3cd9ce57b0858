"""The queries that find a ticket's scans (the writer's duplicate check, offline
reconciliation, manifest counts) probe the ticket index on PostgreSQL whatever the
statistics say, and so does the writer's ticket lock (marker `postgres`).

Without statistics (never analyzed: autovacuum off, or a busy server between analyzes;
or analyzed while still empty, as right after a deployment) PostgreSQL estimates every
equality on a column as 1 in 200. The probe's tenant (twice: the query's own filter and
the row-level security policy) and event then already look like at most one row, so the
(tenant, event, recorded_at) index seemed as good as the ticket index, and whichever
B-tree was one level shallower won: at 10,000 scans, random tickets, that was the
recorded_at index, which reads every scan of the event (the bench's 7 ms at 15,000).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from scanctl.backend.db import create_database
from scanctl.backend.store import Scope, upsert_event
from scanctl.backend.store.offline import admissions_by_ticket, admissions_for_tickets
from scanctl.backend.store.scans import admitted_histories, admitted_history
from scanctl.backend.store.tickets import lock_tickets

pytestmark = pytest.mark.postgres

TENANT = "bench-a1b2c3"
SCANS = 10_000
"""Where the bad plan showed: the ticket index (random inserts, wider keys) had one
B-tree level more than the recorded_at index (appended in order)."""
TICKETS = 100_000

Query = Callable[[Scope, Connection, str, list[str]], object]

HISTORY = frozenset({"ix_scans_tenant_event_ticket_at"})
# A probe per ticket either way: the primary key, or (tenant, id) then the event filtered
# (a ticket id is in few events); never the event's (tenant, event, updated_seq) index.
TICKET = frozenset({"pk_tickets", "ix_tickets_tenant_id"})

QUERIES: dict[str, tuple[Query, str, frozenset[str], int]] = {
    # name: (the store call, the table, the indexes it may probe, how many tickets)
    "writer history, 1 ticket": (
        admitted_histories, "scans", HISTORY, 1,
    ),
    "writer history, 50 tickets": (
        admitted_histories, "scans", HISTORY, 50,
    ),
    "one ticket's history": (
        lambda scope, conn, ev, tickets: admitted_history(scope, conn, ev, tickets[0]),
        "scans", HISTORY, 1,
    ),
    "reconcile admissions": (
        admissions_for_tickets, "scans", HISTORY, 50,
    ),
    "manifest admission counts": (
        admissions_by_ticket, "scans", HISTORY, 50,
    ),
    "writer ticket lock": (lock_tickets, "tickets", TICKET, 50),
}  # fmt: skip


def _scan_nodes(plan: dict[str, Any], table: str) -> Iterator[dict[str, Any]]:
    if plan.get("Relation Name") == table:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scan_nodes(child, table)


def _seed(owner_url: str, event_id: str, statistics: str) -> None:
    """The event, its TICKETS tickets and SCANS scans of random tickets in scan order,
    inserted by the owner."""
    owner = create_database(owner_url)
    scope = Scope.tenant_wide(TENANT)
    try:
        with owner.write(scope) as conn:
            upsert_event(
                scope, conn, event_id=event_id, venue_id=str(uuid.uuid4()), name="n",
                starts_at_ms=0, ends_at_ms=1, now_ms=0,
            )  # fmt: skip
        if statistics == "analyzed while empty":
            with owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE scans, tickets"))
        with owner.write(scope) as conn:
            params = {"tenant": TENANT, "event": event_id, "tickets": TICKETS, "n": SCANS}
            conn.execute(
                text(
                    "INSERT INTO tickets (tenant_id, event_id, id, status, updated_seq,"
                    " updated_at_ms)"
                    " SELECT :tenant, :event, lpad(to_hex(i), 8, '0'), 'ACTIVE', i, 0"
                    " FROM generate_series(0, :tickets - 1) AS i"
                ),
                params,
            )
            # Ids in time order (UUIDv7-like), tickets spread over the event like arrivals,
            # every scan an admission (the bench: re-entry on, no duplicate window).
            conn.execute(
                text(
                    "INSERT INTO scans (tenant_id, id, event_id, ticket_id, device_id, gate,"
                    " direction, raw, reason, allowed, decided_by, scanned_at_ms,"
                    " recorded_at_ms)"
                    " SELECT :tenant, lpad(to_hex(i), 36, '0'), :event,"
                    "  lpad(to_hex((i * 7919) % :tickets), 8, '0'), 'device', 'main', 'entry',"
                    "  'raw', 'ADMITTED', true, 'online', 1000 + i, 1000 + i"
                    " FROM generate_series(1, :n) AS i"
                ),
                params,
            )
        with owner.engine.connect() as conn:
            reltuples = conn.execute(
                text(
                    "SELECT array_agg(reltuples) FROM pg_class"
                    " WHERE relname IN ('scans', 'tickets')"
                )
            ).scalar_one()
        if statistics == "analyzed":
            with owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE scans, tickets"))
        else:
            assert reltuples == [-1 if statistics == "never analyzed" else 0] * 2
    finally:
        owner.close()


@pytest.mark.parametrize("statistics", ["never analyzed", "analyzed while empty", "analyzed"])
@pytest.mark.parametrize("name", list(QUERIES))
def test_ticket_queries_probe_their_index(
    postgres_url: str, app_role_url: str, statistics: str, name: str
) -> None:
    query, table, indexes, wanted = QUERIES[name]
    event_id = str(uuid.uuid4())
    _seed(postgres_url, event_id, statistics)
    # Tickets that were scanned (scan i was of ticket i * 7919 mod TICKETS).
    tickets = sorted({f"{(1 + k * 197) * 7919 % TICKETS:08x}" for k in range(wanted)})
    service = create_database(app_role_url)
    scope = Scope.tenant_wide(TENANT)
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if f" {table} " in f" {statement} ".replace("\n", " "):
            statements.append((statement, parameters))

    plans = []
    try:
        # As the service runs it: its role, the tenant bound to the transaction, the
        # statements it sends with their values (no server-side prepared statements:
        # custom plans), explained in the same transaction.
        with service.write(scope) as conn:
            event.listen(conn, "before_cursor_execute", capture)
            result = query(scope, conn, event_id, tickets)
            event.remove(conn, "before_cursor_execute", capture)
            for statement, parameters in statements:
                explained = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
                plans.append(explained.scalar_one()[0]["Plan"])
    finally:
        service.close()
    assert len(plans) == 1, statements
    nodes = list(_scan_nodes(plans[0], table))
    assert nodes, plans[0]
    assert {node.get("Index Name") for node in nodes} <= indexes, plans[0]
    assert table == "tickets" or result, result
