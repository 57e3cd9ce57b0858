"""Settings of the upstream services: both URLs or neither, a token and a tenant, no default."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scanctl.backend.auth import Role, issue_person_token
from scanctl.backend.errors import ConfigError
from scanctl.backend.settings import load_settings
from tests.backend.helpers import base_env, fresh_secret


def test_unset_means_the_local_catalog(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path))
    assert not settings.uses_upstream
    assert settings.upstream_token is None  # no default token, ever
    assert settings.upstream_ticket_ttl_seconds == 300
    assert settings.upstream_event_ttl_seconds == 900


def test_every_upstream_problem_is_named_at_once(tmp_path: Path) -> None:
    env = base_env(tmp_path, TICKET_SERVICE_URL="ftp://tickets.example")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    problems = caught.value.problems
    assert "TICKET_SERVICE_URL: must be an http:// or https:// URL" in problems
    assert "TICKET_SERVICE_URL, EVENT_SERVICE_URL: set both or neither" in problems
    assert any(p.startswith("UPSTREAM_TOKEN: is required") for p in problems)
    assert any(p.startswith("UPSTREAM_TENANT: is required") for p in problems)


def test_a_complete_upstream_configuration(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        TICKET_SERVICE_URL="http://127.0.0.1:3010",
        EVENT_SERVICE_URL="http://127.0.0.1:3011",
        UPSTREAM_TOKEN="a-bearer-token",
        UPSTREAM_TENANT="tenant-1",
        UPSTREAM_TIMEOUT_SECONDS="0.25",
    )
    settings = load_settings(environ=env)
    assert settings.uses_upstream
    assert settings.upstream_timeout_seconds == 0.25
    assert "a-bearer-token" not in repr(settings)


def test_the_timeout_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=base_env(tmp_path, UPSTREAM_TIMEOUT_SECONDS="0"))
    assert any(p.startswith("UPSTREAM_TIMEOUT_SECONDS:") for p in caught.value.problems)


def test_an_expired_upstream_token_is_refused_at_start(tmp_path: Path) -> None:
    expired = issue_person_token(
        fresh_secret(),
        subject="scanner-b",
        tenant_id="tenant-1",
        role=Role.SYSTEM,
        venue_id=None,
        ttl_seconds=60,
        now_s=int(time.time()) - 3600,
    )
    env = base_env(
        tmp_path,
        TICKET_SERVICE_URL="http://127.0.0.1:3010",
        EVENT_SERVICE_URL="http://127.0.0.1:3010",
        UPSTREAM_TOKEN=expired,
        UPSTREAM_TENANT="tenant-1",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    assert caught.value.problems == ["UPSTREAM_TOKEN: has expired (its `exp` claim is in the past)"]
    env["UPSTREAM_TOKEN"] = expired.replace("eyJ", "eyX", 1)  # not a JWT: the service decides
    assert load_settings(environ=env).uses_upstream
