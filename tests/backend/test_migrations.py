"""Migrations: up on an empty file, down to base, up again; and they match schema.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from scanctl.backend.db import create_database, downgrade, metadata, upgrade
from scanctl.backend.db.migrate import current_revision
from scanctl.backend.store import Scope
from tests.backend.helpers import SCANCTL, base_env

TABLES = {
    "events",
    "tickets",
    "devices",
    "policies",
    "policy_templates",
    "audit_log",
    "scans",
    "nonces",
}


def test_up_down_up(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(database.engine)
        assert current_revision(database.engine) == "0008"
        assert set(inspect(database.engine).get_table_names()) >= TABLES
        downgrade(database.engine)
        assert current_revision(database.engine) is None
        assert not TABLES & set(inspect(database.engine).get_table_names())
        upgrade(database.engine)
        assert current_revision(database.engine) == "0008"
    finally:
        database.close()


def test_migrations_match_the_table_definitions(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(database.engine)
        with database.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        database.close()


def test_every_table_is_tenant_bound(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade(database.engine)
        inspector = inspect(database.engine)
        for table in TABLES:
            columns = {c["name"]: c for c in inspector.get_columns(table)}
            assert not columns["tenant_id"]["nullable"], table
            assert columns["tenant_id"]["default"] is None, table
            for index in inspector.get_indexes(table):
                assert index["column_names"][0] == "tenant_id", (table, index)
            pk = inspector.get_pk_constraint(table)["constrained_columns"]
            assert pk[0] == "tenant_id" or table == "audit_log", table
    finally:
        database.close()


def test_sqlite_is_durable(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        with database.read(Scope.tenant_wide("t")) as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        database.close()


def test_cli_migrate_up_and_down(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    up = subprocess.run(
        [SCANCTL, "server", "migrate"], env=env, capture_output=True, text=True, check=False
    )
    assert up.returncode == 0, up.stderr
    assert "revision 0008" in up.stdout
    down = subprocess.run(
        [SCANCTL, "server", "migrate", "--down", "--revision", "base"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert down.returncode == 0, down.stderr
    assert "revision base" in down.stdout
