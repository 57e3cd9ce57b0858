"""REDIS_URL and its companions: checked before start, rate limits follow REDIS_URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.errors import ConfigError
from scanctl.backend.settings import load_settings
from tests.backend.helpers import base_env


def test_rate_limits_follow_redis_url_unless_told_otherwise(tmp_path: Path) -> None:
    alone = load_settings(environ=base_env(tmp_path))
    assert alone.redis_url is None
    assert alone.effective_rate_limit_storage_url == "memory://"
    shared = load_settings(environ=base_env(tmp_path, REDIS_URL="redis://10.0.0.5:6379/2"))
    assert shared.effective_rate_limit_storage_url == "redis://10.0.0.5:6379/2"
    explicit = load_settings(
        environ=base_env(
            tmp_path,
            REDIS_URL="redis://10.0.0.5:6379/2",
            RATE_LIMIT_STORAGE_URL="memory://",
        )
    )
    assert explicit.effective_rate_limit_storage_url == "memory://"
    socket = load_settings(environ=base_env(tmp_path, REDIS_URL="unix:///run/redis.sock"))
    assert socket.effective_rate_limit_storage_url == "redis+unix:///run/redis.sock"


def test_bad_redis_settings_are_named_together(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        REDIS_URL="http://127.0.0.1:6379",
        REDIS_KEY_PREFIX="has space",
        REDIS_TIMEOUT_SECONDS="0",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    names = sorted(p.split(":", 1)[0] for p in caught.value.problems)
    assert names == ["REDIS_KEY_PREFIX", "REDIS_TIMEOUT_SECONDS", "REDIS_URL"]
    assert any("not a Redis URL" in p for p in caught.value.problems)


@given(st.text(max_size=80))
def test_any_redis_url_is_accepted_or_named(url: str) -> None:
    # Whatever an operator types: a setting, or one clear problem line naming REDIS_URL.
    env = base_env(Path("/tmp/scanctl-never-created"), REDIS_URL=url)
    try:
        settings = load_settings(environ=env)
    except ConfigError as exc:
        assert all(p.startswith("REDIS_URL: ") for p in exc.problems), exc.problems
    else:
        assert settings.redis_url == url
