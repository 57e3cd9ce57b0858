"""PostgreSQL for the tests: a fresh database per test, and the ordinary role the service runs as.

Every database and role made here has a unique name and is dropped by the code that
made it; nothing else on the server is touched (other suites share it). A server that
is not reachable skips the test, or fails it when CI=true (`tests.services`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from scanctl.backend.db import create_database, upgrade
from tests.services import service_unavailable

__all__ = [
    "ADMIN_URL",
    "app_role_url",
    "fresh_database",
    "migrate_as_owner",
    "postgres_url",
    "service_role",
]

ADMIN_URL = os.environ.get(
    "SCANCTL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database (unique name) owned by the admin user; its URL. Dropped after."""
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


def migrate_as_owner(owner_url: str) -> None:
    """Migrate to the newest revision as the tables' owner (instances never migrate)."""
    owner = create_database(owner_url)
    try:
        upgrade(owner.engine)
    finally:
        owner.close()


@contextmanager
def service_role(owner_url: str) -> Iterator[str]:
    """A login role that owns nothing, may read and write the tables, bypasses nothing.

    What a deployment runs the service as (superusers and owners bypass or can switch
    off row-level security). Yields the database URL as that role; the role is dropped.
    """
    role = f"scanctl_app_{uuid.uuid4().hex[:8]}"
    owner = create_engine(owner_url)
    try:
        with owner.begin() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
            conn.execute(
                text(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
                )
            )
            conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        yield make_url(owner_url).set(username=role).render_as_string(hide_password=False)
    finally:
        # The role's sessions end first (the servers of a test may still be stopping).
        with owner.begin() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        owner.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the local PostgreSQL server, dropped afterwards."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def app_role_url(postgres_url: str) -> Iterator[str]:
    """The database migrated by its owner, and a URL for the ordinary role the app runs as."""
    migrate_as_owner(postgres_url)
    with service_role(postgres_url) as url:
        yield url
