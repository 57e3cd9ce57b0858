"""The same migrations and data access on PostgreSQL (marker `postgres`: 127.0.0.1:5432)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.db import create_database, downgrade, metadata, upgrade
from scanctl.backend.db.migrate import current_revision
from scanctl.backend.settings import load_settings
from scanctl.backend.store import Scope, upsert_event
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env, new_id
from tests.services import service_unavailable

pytestmark = pytest.mark.postgres

ADMIN_URL = os.environ.get(
    "SCANCTL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the local PostgreSQL server, dropped afterwards."""
    name = f"scanctl_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        service_unavailable(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc.orig}")
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_up_down_up(postgres_url: str) -> None:
    database = create_database(postgres_url)
    try:
        upgrade(database.engine)
        with database.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        downgrade(database.engine)
        assert current_revision(database.engine) is None
        upgrade(database.engine)
        assert current_revision(database.engine) == "0003"
    finally:
        database.close()


@pytest.fixture
def app_role_url(postgres_url: str) -> Iterator[str]:
    """The database migrated by its owner, and a URL for an ordinary role the app runs as.

    Superusers bypass row-level security; a deployment runs the service as a role like this.
    """
    owner = create_database(postgres_url)
    upgrade(owner.engine)
    role = f"scanctl_app_{uuid.uuid4().hex[:8]}"
    with owner.engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        )
        conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    try:
        yield make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
    finally:
        with owner.engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
        owner.close()
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(
                text(f"DROP DATABASE IF EXISTS {make_url(postgres_url).database} WITH (FORCE)")
            )
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


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
