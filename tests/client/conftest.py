"""Fixtures: one real loopback server for the whole client suite, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scanctl.client import RetryPolicy
from tests.client.fake_backend import FakeBackend, ServerThread

FAST_RETRY = RetryPolicy(attempts=4, total=5.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)
"""Real backoff, scaled down so the suite stays quick."""


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[FakeBackend, str]]:
    fake = FakeBackend()
    server = ServerThread(fake.app)
    server.start()
    yield fake, server.url
    server.stop()


@pytest.fixture
def fake(_server: tuple[FakeBackend, str]) -> FakeBackend:
    backend, _ = _server
    backend.reset()
    return backend


@pytest.fixture
def url(_server: tuple[FakeBackend, str]) -> str:
    return _server[1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
