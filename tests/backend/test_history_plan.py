"""The writer's duplicate check (`store.scans._HISTORIES_PG`) probes the ticket index on
PostgreSQL whatever the statistics of the scans table say (marker `postgres`).

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
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from scanctl.backend.db import create_database
from scanctl.backend.store import Scope, upsert_event
from scanctl.backend.store.scans import _HISTORIES_PG, admitted_histories

pytestmark = pytest.mark.postgres

TENANT = "bench-a1b2c3"
HISTORY_INDEX = "ix_scans_tenant_event_ticket_at"
SCANS = 10_000
"""Where the bad plan showed: the ticket index (random inserts, wider keys) had one
B-tree level more than the recorded_at index (appended in order)."""
TICKETS = 100_000


def _scan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if plan.get("Relation Name") == "scans" or "Index Name" in plan:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scan_nodes(child)


def _seed(owner_url: str, event: str, statistics: str) -> None:
    """The event and SCANS scans of random tickets in scan order, inserted by the owner."""
    owner = create_database(owner_url)
    scope = Scope.tenant_wide(TENANT)
    try:
        with owner.write(scope) as conn:
            upsert_event(
                scope, conn, event_id=event, venue_id=str(uuid.uuid4()), name="n",
                starts_at_ms=0, ends_at_ms=1, now_ms=0,
            )  # fmt: skip
        if statistics == "analyzed while empty":
            with owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE scans"))
        with owner.write(scope) as conn:
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
                {"tenant": TENANT, "event": event, "tickets": TICKETS, "n": SCANS},
            )
        with owner.engine.connect() as conn:
            reltuples = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'scans'")
            ).scalar()
        if statistics == "analyzed":
            with owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE scans"))
        else:
            assert reltuples == (-1 if statistics == "never analyzed" else 0)
    finally:
        owner.close()


@pytest.mark.parametrize("statistics", ["never analyzed", "analyzed while empty", "analyzed"])
@pytest.mark.parametrize("wanted", [1, 50])
def test_the_history_probe_uses_the_ticket_index(
    postgres_url: str, app_role_url: str, statistics: str, wanted: int
) -> None:
    event = str(uuid.uuid4())
    _seed(postgres_url, event, statistics)
    # Tickets that were scanned (scan i was of ticket i * 7919 mod TICKETS).
    tickets = sorted({f"{(1 + k * 197) * 7919 % TICKETS:08x}" for k in range(wanted)})
    params = {"tenant": TENANT, "event": event, "tickets": tickets}
    service = create_database(app_role_url)
    scope = Scope.tenant_wide(TENANT)
    try:
        # As the service runs it: its role, the tenant bound to the transaction, the
        # statement with its values (no server-side prepared statements: custom plans).
        with service.write(scope) as conn:
            explained = conn.execute(text(f"EXPLAIN (FORMAT JSON) {_HISTORIES_PG.text}"), params)
            plan = explained.scalar_one()[0]["Plan"]
            histories = admitted_histories(scope, conn, event, tickets)
    finally:
        service.close()
    nodes = list(_scan_nodes(plan))
    assert nodes, plan
    assert {node.get("Index Name") for node in nodes} == {HISTORY_INDEX}, plan
    assert all(node["Node Type"] != "Seq Scan" for node in nodes), plan
    assert sum(len(history) for history in histories.values()) > 0
