"""Fixtures: one real loopback server for the whole client suite, reset per test."""

from __future__ import annotations

import pytest

from scanctl.client import RetryPolicy
from tests.client.fake_backend import _fake_server, fake, url

__all__ = ["FAST_RETRY", "_fake_server", "fake", "url"]

FAST_RETRY = RetryPolicy(attempts=4, total=5.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)
"""Real backoff, scaled down so the suite stays quick."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
