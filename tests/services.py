"""Tests that need PostgreSQL or Redis: skip on a developer's machine without them, fail in CI.

CI (`CI=true`) starts both services in `.ci/run`; a missing one there is a broken
environment, and a skipped test would hide it.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["service_unavailable"]


def service_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when running in CI."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the services must be running)", pytrace=False)
    pytest.skip(reason)
