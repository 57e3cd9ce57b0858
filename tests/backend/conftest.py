"""Fixtures of the backend tests: settings, an in-process app, and one real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.backend.app import create_app
from scanctl.backend.settings import Settings, load_settings
from tests.backend.helpers import AppClient, ServerProcess, base_env, start_server


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
