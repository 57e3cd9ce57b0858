"""A missing PostgreSQL or Redis skips a test locally and fails it in CI."""

from __future__ import annotations

import pytest

from tests.services import service_unavailable


def test_outside_ci_a_missing_service_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no redis"):
        service_unavailable("no redis")


def test_in_ci_a_missing_service_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        service_unavailable("no redis")
