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
from sqlalchemy.exc import OperationalError

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.db import create_database, downgrade, metadata, upgrade
from scanctl.backend.db.migrate import current_revision
from scanctl.backend.settings import load_settings
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env, new_id

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
        pytest.skip(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc.orig}")
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
        assert current_revision(database.engine) == "0001"
    finally:
        database.close()


def test_the_api_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path, DATABASE_URL=postgres_url))
    assert not settings.should_auto_migrate
    database = create_database(postgres_url)
    upgrade(database.engine)
    database.close()
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
        staff = mint(settings, Role.VENUE_STAFF, venue=new_id())
        denied = api.get(
            f"/api/devices/{device['deviceId']}", headers={"Authorization": f"Bearer {staff}"}
        )
        assert denied.status_code == 403
        assert api.get("/api/audit").json()[0]["targetId"] == device["deviceId"]
