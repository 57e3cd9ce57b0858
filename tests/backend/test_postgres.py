"""The same migrations and data access on PostgreSQL (marker `postgres`: 127.0.0.1:5432)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.pool import QueuePool

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.db import create_database, downgrade, metadata, upgrade
from scanctl.backend.db.engine import TENANT_SETTING, Database
from scanctl.backend.db.guard import TENANT_TABLES, isolation_problems
from scanctl.backend.db.migrate import alembic_config, current_revision
from scanctl.backend.errors import ConfigError
from scanctl.backend.settings import load_settings
from scanctl.backend.store import Scope, upsert_event
from scanctl.backend.store.tickets import TicketInput, upsert_tickets
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env, new_id

pytestmark = pytest.mark.postgres


def test_migrations_up_down_up(postgres_url: str) -> None:
    database = create_database(postgres_url)
    try:
        upgrade(database.engine)
        with database.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        downgrade(database.engine)
        assert current_revision(database.engine) is None
        assert inspect(database.engine).get_table_names() == ["alembic_version"]
        upgrade(database.engine)
        # Every revision, whatever the newest is: up, down to base, up again.
        head = ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()
        assert current_revision(database.engine) == head
        with database.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        database.close()


def test_the_api_on_postgres(app_role_url: str, tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path, DATABASE_URL=app_role_url))
    assert not settings.should_auto_migrate
    venue, event = new_id(), new_id()
    headers = {"Authorization": f"Bearer {mint(settings, Role.ADMIN)}"}
    with AppClient(create_app(settings), headers=headers) as api:
        response = api.post(
            "/api/catalog/events",
            json={
                "id": event,
                "venueId": venue,
                "name": "On PostgreSQL",
                "startsAt": "2030-06-01T18:00:00Z",
                "endsAt": "2030-06-01T23:00:00Z",
            },
        )
        assert response.status_code == 201, response.text
        tickets = {"tickets": [{"id": f"{i:08x}", "zones": ["GA"]} for i in range(1200)]}
        url = f"/api/catalog/events/{event}/tickets"
        assert api.post(url, json=tickets).json()["created"] == 1200
        assert api.post(url, json=tickets).json()["unchanged"] == 1200
        device = {"deviceId": new_id(), "name": "Gate", "type": "POS", "venueId": venue}
        assert api.post("/api/devices/register", json=device).status_code == 201
        assert api.put(f"/api/policies/{event}", json={"reentry_allowed": True}).status_code == 200
        staff = {"Authorization": f"Bearer {mint(settings, Role.VENUE_STAFF, venue=new_id())}"}
        denied = api.get(f"/api/devices/{device['deviceId']}", headers=staff)
        assert denied.status_code == 403
        assert api.get("/api/audit").json()[0]["targetId"] == device["deviceId"]
        other = {"Authorization": f"Bearer {mint(settings, Role.ADMIN, tenant='t2')}"}
        assert api.get(f"/api/catalog/events/{event}", headers=other).status_code == 404


def test_row_level_security_hides_other_tenants(app_role_url: str) -> None:
    database = create_database(app_role_url)
    now = 1_900_000_000_000
    try:
        for tenant in ("t1", "t2"):
            with database.write(Scope.tenant_wide(tenant)) as conn:
                upsert_event(
                    Scope.tenant_wide(tenant),
                    conn,
                    event_id=new_id(),
                    venue_id=new_id(),
                    name=f"event of {tenant}",
                    starts_at_ms=now,
                    ends_at_ms=now + 1,
                    now_ms=now,
                )
        with database.read(Scope.tenant_wide("t1")) as conn:
            # No tenant filter in the query: the policy alone keeps t2's row out.
            names = conn.execute(text("SELECT name FROM events")).scalars().all()
        assert names == ["event of t1"]
        with database.engine.connect() as conn:
            protected = conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity "
                    "AND relname IN ('scans', 'nonces')"
                )
            )
            assert sorted(protected.scalars()) == ["nonces", "scans"]
        with database.engine.connect() as conn:  # no tenant bound to the transaction
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
        with (
            pytest.raises(ProgrammingError, match="row-level security"),
            database.write(Scope.tenant_wide("t1")) as conn,
        ):
            conn.execute(
                text(
                    "INSERT INTO devices (tenant_id, id, venue_id, name, type, "
                    "can_scan_offline, status, registered_by, created_at_ms, updated_at_ms) "
                    "VALUES ('t2', 'x', 'v', 'n', 'POS', false, 'ACTIVE', 'me', 0, 0)"
                )
            )
    finally:
        database.close()


# One row per table, in raw SQL: the tests below must not depend on the store's filters.
_SEED = (
    "INSERT INTO events (tenant_id, id, venue_id, name, starts_at_ms, ends_at_ms,"
    " created_at_ms, updated_at_ms) VALUES (:t, 'e', 'v', :t, 0, 1, 0, 0)",
    "INSERT INTO tickets (tenant_id, event_id, id, status, updated_seq, updated_at_ms)"
    " VALUES (:t, 'e', '0000000a', 'ACTIVE', 1, 0)",
    "INSERT INTO devices (tenant_id, id, venue_id, name, type, can_scan_offline, status,"
    " registered_by, created_at_ms, updated_at_ms)"
    " VALUES (:t, 'd', 'v', :t, 'POS', false, 'ACTIVE', 'me', 0, 0)",
    "INSERT INTO policies (tenant_id, event_id, body, updated_by, updated_at_ms)"
    " VALUES (:t, 'e', '{}', 'me', 0)",
    "INSERT INTO policy_templates (tenant_id, name, body, updated_by, updated_at_ms)"
    " VALUES (:t, 'p', '{}', 'me', 0)",
    "INSERT INTO audit_log (tenant_id, at_ms, actor, actor_kind, actor_role, action, outcome)"
    " VALUES (:t, 0, 'me', 'person', 'ADMIN', 'x', 'ok')",
    "INSERT INTO scans (tenant_id, id, event_id, ticket_id, device_id, direction, raw,"
    " reason, allowed, decided_by, scanned_at_ms, recorded_at_ms)"
    " VALUES (:t, 's', 'e', '0000000a', 'd', 'ENTRY', 'raw', 'ADMITTED', true, 'online', 0, 0)",
    "INSERT INTO nonces (tenant_id, nonce, expires_at_ms) VALUES (:t, '00000000000000aa', 0)",
)


def _seed(database: Database, *tenants: str) -> None:
    for tenant in tenants:
        with database.write(Scope.tenant_wide(tenant)) as conn:
            for statement in _SEED:
                conn.execute(text(statement), {"t": tenant})


def _tenants_seen(conn: Connection) -> dict[str, set[str]]:
    """The tenant ids each table shows this transaction, without any WHERE clause."""
    return {
        table: set(conn.execute(text(f"SELECT tenant_id FROM {table}")).scalars())  # noqa: S608
        for table in TENANT_TABLES
    }


def test_the_schema_keeps_tenants_apart(app_role_url: str, postgres_url: str) -> None:
    """tenant_id NOT NULL without default everywhere, indexes lead with it, RLS forced."""
    assert set(TENANT_TABLES) == {
        "audit_log", "devices", "events", "nonces", "policies", "policy_templates", "scans",
        "tickets",
    }  # fmt: skip
    owner = create_engine(postgres_url)
    try:
        with owner.connect() as conn:
            columns = conn.execute(
                text(
                    "SELECT table_name, is_nullable, column_default FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND column_name = 'tenant_id'"
                )
            ).all()
            assert sorted(columns) == [(t, "NO", None) for t in TENANT_TABLES]
            secured = conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity"
                    " AND relname = ANY(:t) AND EXISTS"
                    " (SELECT 1 FROM pg_policy WHERE polrelid = pg_class.oid)"
                ),
                {"t": list(TENANT_TABLES)},
            )
            assert sorted(secured.scalars()) == list(TENANT_TABLES)
        inspector = inspect(owner)
        for table in TENANT_TABLES:
            indexes = [i["column_names"] for i in inspector.get_indexes(table)]
            primary = inspector.get_pk_constraint(table)["constrained_columns"]
            if table != "audit_log":  # a surrogate key; listed by its (tenant_id, at_ms) index
                indexes.append(primary)
            assert indexes and all(cols[0] == "tenant_id" for cols in indexes), (table, indexes)
    finally:
        owner.dispose()
    # The hot queries are served by an index (all lead with tenant_id) with the policy
    # in force, as the service role with its tenant bound. Sequential scans are switched
    # off so that the plan shows whether an index *can* serve them, whatever the size.
    hot = (
        "SELECT scanned_at_ms FROM scans WHERE tenant_id = :t AND event_id = 'e'"
        " AND ticket_id = '0000000a' AND allowed ORDER BY scanned_at_ms",
        "SELECT nonce FROM nonces WHERE tenant_id = :t AND nonce = 'x'",
        "SELECT * FROM devices WHERE tenant_id = :t AND id = 'd'",
        "SELECT body FROM policies WHERE tenant_id = :t AND event_id = 'e'",
        "SELECT id FROM tickets WHERE tenant_id = :t AND event_id = 'e' AND id = 'a' FOR UPDATE",
        # QR generation without an event: by (tenant_id, id), not all the tenant's tickets.
        "SELECT * FROM tickets WHERE tenant_id = :t AND id = 'a' LIMIT 2",
    )
    database = create_database(app_role_url)
    try:
        with database.read(Scope.tenant_wide("t1")) as conn:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            for query in hot:
                plan = "\n".join(conn.execute(text(f"EXPLAIN {query}"), {"t": "t1"}).scalars())
                assert "Seq Scan" not in plan, plan
                if query.endswith("LIMIT 2"):
                    assert re.search(r"Index Cond: .*\bid\)?::text = 'a'", plan), plan
                assert re.search(
                    r"Index Cond: \(+tenant_id\b", plan.replace("(tenant_id)", "tenant_id")
                ), plan
    finally:
        database.close()


def test_a_query_without_tenant_context_sees_no_rows(app_role_url: str) -> None:
    database = create_database(app_role_url)
    try:
        _seed(database, "t1", "t2")
        with database.engine.connect() as conn:  # no tenant bound to the transaction
            assert _tenants_seen(conn) == {table: set() for table in TENANT_TABLES}
            # Nor can it write: a row needs the tenant it claims to be bound.
            with pytest.raises(ProgrammingError, match="row-level security"):
                conn.execute(text(_SEED[-1]), {"t": "t1"})
        with database.read(Scope.tenant_wide("t1")) as conn:
            assert _tenants_seen(conn) == {table: {"t1"} for table in TENANT_TABLES}
    finally:
        database.close()


def test_a_pool_of_one_alternating_tenants_never_mixes_them(app_role_url: str) -> None:
    engine = create_engine(
        app_role_url, poolclass=QueuePool, pool_size=1, max_overflow=0,
        isolation_level="READ COMMITTED",
    )  # fmt: skip
    database = Database(engine)
    backends: set[int] = set()

    def setting_left_behind() -> object:
        with engine.connect() as conn:
            backends.add(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            return conn.execute(
                text("SELECT current_setting(:s, true)"), {"s": TENANT_SETTING}
            ).scalar()

    try:
        _seed(database, "t1", "t2")
        for turn in range(40):
            tenant = ("t1", "t2")[turn % 2]
            scope = Scope.tenant_wide(tenant)
            if turn % 4 < 2:
                with database.read(scope) as conn:
                    assert _tenants_seen(conn) == {t: {tenant} for t in TENANT_TABLES}
            elif turn % 8 < 6:
                with database.write(scope) as conn:
                    assert _tenants_seen(conn) == {t: {tenant} for t in TENANT_TABLES}
                    conn.execute(text(_SEED[-1].replace("aa'", f"{turn:02x}'")), {"t": tenant})
            else:  # a transaction that fails half-way is rolled back, the setting with it
                with pytest.raises(ProgrammingError), database.write(scope) as conn:
                    assert _tenants_seen(conn) == {t: {tenant} for t in TENANT_TABLES}
                    conn.execute(text("SELECT no_such_column FROM events"))
            # Empty (never the previous tenant) once the transaction has ended.
            assert setting_left_behind() in ("", None), turn
        assert len(backends) == 1  # it really was one connection all along
    finally:
        database.close()


def test_raw_sql_as_the_service_role_cannot_touch_another_tenant(
    app_role_url: str, postgres_url: str
) -> None:
    database = create_database(app_role_url)
    t1 = Scope.tenant_wide("t1")
    try:
        assert isolation_problems(database.engine) == []
        _seed(database, "t1", "t2")
        with database.write(t1) as conn:
            for table in TENANT_TABLES:
                where = f"FROM {table} WHERE tenant_id = 't2'"
                assert conn.execute(text(f"SELECT count(*) {where}")).scalar() == 0
                assert conn.execute(text(f"DELETE {where}")).rowcount == 0
            renamed = conn.execute(text("UPDATE events SET name = 'x' WHERE tenant_id = 't2'"))
            assert renamed.rowcount == 0
        refused = {
            "INSERT for t2": (_SEED[0], {"t": "t2"}),
            "move a row to t2": ("UPDATE devices SET tenant_id = 't2'", {}),
            "switch the policy off": ("ALTER TABLE scans DISABLE ROW LEVEL SECURITY", {}),
            "drop the policy": ("DROP POLICY tenant_isolation ON nonces", {}),
            "row_security off": ("SET LOCAL row_security = off; SELECT * FROM tickets", {}),
        }
        for what, (statement, params) in refused.items():
            with pytest.raises(DBAPIError), database.write(t1) as conn:
                conn.execute(text(statement), params)
                pytest.fail(f"{what}: allowed")
    finally:
        database.close()
    owner = create_engine(postgres_url)  # the owner, a superuser here: sees every tenant
    try:
        with owner.connect() as conn:
            for table in TENANT_TABLES:
                query = f"SELECT tenant_id FROM {table} ORDER BY 1"  # noqa: S608
                rows = conn.execute(text(query)).scalars()
                assert list(rows) == ["t1", "t2"], table
            assert (
                conn.execute(text("SELECT name FROM events WHERE tenant_id = 't2'")).scalar()
                == "t2"
            )
    finally:
        owner.dispose()


def test_the_service_refuses_a_role_that_bypasses_or_owns(
    app_role_url: str, postgres_url: str, tmp_path: Path
) -> None:
    owner = create_database(postgres_url)  # the migrating superuser
    try:
        problems = isolation_problems(owner.engine)
        assert len(problems) == 1 and "superuser" in problems[0], problems
        settings = load_settings(environ=base_env(tmp_path, DATABASE_URL=postgres_url))
        with pytest.raises(ConfigError, match="superuser"), AppClient(create_app(settings)):
            pass
        with owner.engine.begin() as conn:  # a table handed to the service role, one unsecured
            role = conn.execute(text("SELECT :u"), {"u": make_url(app_role_url).username}).scalar()
            conn.execute(text(f"ALTER TABLE policies OWNER TO {role}"))
            conn.execute(text("ALTER TABLE nonces NO FORCE ROW LEVEL SECURITY"))
    finally:
        owner.close()
    service = create_database(app_role_url)
    try:
        problems = isolation_problems(service.engine)
    finally:
        service.close()
    assert len(problems) == 2, problems
    assert "owns policies" in problems[0] and "forced on nonces" in problems[1], problems


def test_transactions_are_read_committed_whatever_the_server_default(
    app_role_url: str, postgres_url: str
) -> None:
    """The writer's lock-then-read needs READ COMMITTED (see scanning.writer)."""
    owner = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with owner.connect() as conn:
            name = make_url(postgres_url).database
            conn.execute(
                text(f"ALTER DATABASE {name} SET default_transaction_isolation = 'serializable'")
            )
    finally:
        owner.dispose()
    database = create_database(app_role_url)
    try:
        with database.write(Scope.tenant_wide("t1")) as conn:
            assert conn.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
        plain = create_engine(app_role_url)  # proof the server default really changed
        try:
            with plain.connect() as conn:
                assert conn.execute(text("SHOW transaction_isolation")).scalar() == "serializable"
        finally:
            plain.dispose()
    finally:
        database.close()


def test_a_large_ticket_import_does_not_slow_down_as_it_grows(app_role_url: str) -> None:
    """Calls of 10,000 tickets each, on tables without statistics (as right after a
    migration): they once took 1 s, 11 s, 25 s…, comparing every stored ticket with every
    id of each call; now each is one join."""
    database = create_database(app_role_url)
    scope = Scope.tenant_wide("t1")
    try:
        with database.write(scope) as conn:
            upsert_event(
                scope, conn, event_id="e", venue_id="v", name="n",
                starts_at_ms=0, ends_at_ms=1, now_ms=0,
            )  # fmt: skip
        took = []
        for call in range(3):
            batch = [TicketInput(f"{call * 10_000 + i:08x}") for i in range(10_000)]
            started = time.perf_counter()
            with database.write(scope) as conn:
                result = upsert_tickets(scope, conn, "e", batch, now_ms=1)
            took.append(time.perf_counter() - started)
            assert result.created == 10_000
        with database.write(scope) as conn:  # and a re-import finds every one of them
            assert upsert_tickets(scope, conn, "e", batch, now_ms=2).unchanged == 10_000
    finally:
        database.close()
    assert max(took) < 6, took
