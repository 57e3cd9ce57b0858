"""Health, readiness, metrics and the request limits, on an in-process app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.lifecycle import Phase
from scanctl.backend.settings import load_settings
from scanctl.backend.state import backend_state
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env


def test_health_ready_metrics_need_no_token(app_client: AppClient) -> None:
    assert app_client.get("/health").json() == {"status": "ok"}
    assert app_client.get("/ready").json() == {"status": "ready"}
    metrics = app_client.get("/metrics")
    assert metrics.status_code == 200
    assert "scanctl_http_requests_total" in metrics.text


def test_ready_is_503_while_draining(app_client: AppClient) -> None:
    lifecycle = backend_state(app_client.app).lifecycle
    lifecycle.start_draining()
    response = app_client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": Phase.DRAINING.value}


def test_ready_is_503_before_start(tmp_path: Path) -> None:
    app = create_app(load_settings(environ=base_env(tmp_path)))
    import anyio

    async def ask() -> int:
        transport = httpx.ASGITransport(app=app)  # no lifespan: the app has not started
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/ready")).status_code

    assert anyio.run(ask) == 503


def test_metrics_label_routes_by_template_and_status(app_client: AppClient) -> None:
    event = "6f1c0a4e-4a53-4c44-9d5b-2a0f1a0c9b11"
    app_client.get(f"/api/catalog/events/{event}")
    app_client.get("/no/such/route")
    text = app_client.get("/metrics").text
    assert (
        'scanctl_http_requests_total{method="GET",route="/api/catalog/events/{eventId}",'
        'status="401"} 1.0' in text
    )
    assert 'route="<unmatched>",status="404"' in text
    assert event not in text
    assert "scanctl_http_request_duration_seconds_bucket" in text


def test_two_apps_have_separate_registries(tmp_path: Path) -> None:
    first = create_app(load_settings(environ=base_env(tmp_path / "a")))
    second = create_app(load_settings(environ=base_env(tmp_path / "b")))
    assert backend_state(first).metrics.registry is not backend_state(second).metrics.registry


def test_body_size_limit(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path, MAX_BODY_BYTES="2048"))
    with AppClient(create_app(settings)) as client:
        response = client.post("/api/catalog/events", content=b"x" * 4096)
        assert response.status_code == 413


def test_request_timeout_answers_504(tmp_path: Path) -> None:
    settings = load_settings(
        environ=base_env(tmp_path, REQUEST_TIMEOUT_SECONDS="0.2", ENABLE_TEST_ROUTES="true")
    )
    with AppClient(create_app(settings)) as client:
        response = client.get("/__test__/slow", params={"seconds": 2})
        assert response.status_code == 504
        assert "longer than" in response.json()["detail"]
        assert client.get("/__test__/slow", params={"seconds": 0}).status_code == 200


def test_test_routes_are_off_by_default(app_client: AppClient) -> None:
    assert app_client.get("/__test__/slow", params={"seconds": 0}).status_code == 404


def test_streamed_body_over_the_limit_is_413(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path, MAX_BODY_BYTES="2048"))

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked upload
        for _ in range(8):
            yield b"x" * 1024

    with AppClient(create_app(settings)) as client:
        token = mint(settings, Role.ADMIN)
        response = client.post(
            "/api/catalog/events",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert response.status_code == 413
