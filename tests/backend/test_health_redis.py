"""`/ready` and `/metrics` with and without REDIS_URL, on an in-process app."""

from __future__ import annotations

from pathlib import Path

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.settings import Settings, load_settings
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env, free_port, new_id
from tests.backend.redis_kit import metric


def test_without_redis_nothing_changes_but_the_counts(
    app_client: AppClient, settings: Settings
) -> None:
    assert app_client.get("/ready").json() == {"status": "ready"}
    text = app_client.get("/metrics").text
    assert metric(text, "scanctl_redis_configured") == 0
    assert "scanctl_redis_up" not in text
    assert metric(text, "scanctl_cache_hits_total", cache="tickets", level="memory") == 0
    assert metric(text, "scanctl_rate_limit_storage", storage="memory") == 1
    before = metric(text, "scanctl_db_queries_total", kind="select")
    headers = {"Authorization": f"Bearer {mint(settings, Role.ADMIN)}"}
    response = app_client.get(f"/api/catalog/events/{new_id()}", headers=headers)
    assert response.status_code == 404
    after = metric(app_client.get("/metrics").text, "scanctl_db_queries_total", kind="select")
    assert after > before


def test_a_redis_down_from_the_start_is_ready_but_degraded(tmp_path: Path) -> None:
    # Nothing listens on the port: the service starts, decides from the database, says so.
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = load_settings(environ=base_env(tmp_path, REDIS_URL=url))
    assert settings.effective_rate_limit_storage_url == url
    with AppClient(create_app(settings)) as client:
        response = client.get("/ready")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ready",
            "degraded": True,
            "details": {"redis": "unavailable", "rateLimits": "redis"},
        }
        text = client.get("/metrics").text
        assert metric(text, "scanctl_redis_configured") == 1
        assert metric(text, "scanctl_redis_up") == 0
        assert metric(text, "scanctl_redis_failures_total") >= 1
