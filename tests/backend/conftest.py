"""Fixtures of the backend tests: settings, an in-process app, and one real server process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role, issue_person_token
from scanctl.backend.settings import Settings, load_settings
from tests.backend.helpers import AppClient, ServerProcess, base_env, start_server
from tests.backend.postgres_kit import app_role_url, postgres_url  # noqa: F401 (fixtures)
from tests.backend.world import World, seed_world


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Valid settings with fresh secrets and a temp data directory."""
    return load_settings(environ=base_env(tmp_path))


@pytest.fixture
def app_client(settings: Settings) -> Iterator[AppClient]:
    """An in-process app (lifespan run, so migrated and ready) behind a test client."""
    with AppClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One `scanctl server run` process for the session, on a free port, real SQLite file."""
    running = start_server(
        tmp_path_factory.mktemp("backend-server"), DEVICE_REGISTRATION_LIMIT="1000/hour"
    )
    try:
        yield running
    finally:
        code = running.stop()
        assert code == 0, running.log()


@pytest.fixture(scope="session")
def world(server: ServerProcess) -> World:
    """Two tenants, three venues, seeded once into the session's server."""
    return seed_world(server)


def mint(settings: Settings, role: Role, tenant: str = "t1", venue: str | None = None) -> str:
    """A people token for an in-process app built from ``settings``."""
    return issue_person_token(
        settings.jwt_secret.get_secret_value(),
        subject=f"{role.value.lower()}@{tenant}",
        tenant_id=tenant,
        role=role,
        venue_id=venue,
        ttl_seconds=600,
        now_s=int(time.time()),
    )


@pytest.fixture
def venue() -> str:
    """A fresh venue id."""
    return str(uuid.uuid4())


@pytest.fixture
def admin(settings: Settings, app_client: AppClient) -> AppClient:
    """The in-process app, with an ADMIN token of tenant t1 on every request."""
    app_client._client.headers["Authorization"] = f"Bearer {mint(settings, Role.ADMIN)}"
    return app_client
