"""SIGTERM drains: the request in flight completes, new connections are refused, exit 0."""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path

import httpx
import pytest

from scanctl.backend.app import create_app
from scanctl.backend.lifecycle import Phase
from scanctl.backend.server import build_server
from scanctl.backend.settings import load_settings
from scanctl.backend.state import backend_state
from tests.backend.helpers import base_env, start_server, wait_for


def _in_flight(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    match = re.search(r"^scanctl_http_requests_in_flight (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.mark.slow
def test_sigterm_during_a_request(tmp_path: Path) -> None:
    server = start_server(tmp_path, ENABLE_TEST_ROUTES="true", SHUTDOWN_TIMEOUT_SECONDS="20")
    result: dict[str, object] = {}

    def slow_request() -> None:
        try:
            response = httpx.get(f"{server.url}/__test__/slow", params={"seconds": 2}, timeout=30)
            result["status"] = response.status_code
            result["body"] = response.json()
        except Exception as exc:  # reported by the assertions below
            result["error"] = repr(exc)

    worker = threading.Thread(target=slow_request)
    worker.start()
    try:
        # The scrape counts itself: a value of 2 means the slow request is being handled.
        wait_for(lambda: _in_flight(server.url) >= 2, timeout=10, what="the slow request")
        server.process.send_signal(signal.SIGTERM)
        worker.join(30)
        assert result.get("status") == 200, result
        assert result["body"] == {"slept": 2}
        assert server.process.wait(30) == 0, server.log()
    finally:
        worker.join(5)
        server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/health", timeout=2)
    assert "Traceback" not in server.log()


def test_the_signal_handler_turns_ready_to_503_first(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path))
    app = create_app(settings)
    server = build_server(settings, app)
    backend_state(app).lifecycle.mark_ready()
    server.handle_exit(signal.SIGTERM, None)
    assert backend_state(app).lifecycle.phase is Phase.DRAINING
    assert server.should_exit
    assert not server.force_exit


@pytest.mark.slow
def test_drain_delay_keeps_serving_with_ready_at_503(tmp_path: Path) -> None:
    server = start_server(tmp_path, SHUTDOWN_DRAIN_SECONDS="3")
    try:
        with httpx.Client(base_url=server.url, timeout=5) as http:
            assert http.get("/ready").status_code == 200
            server.process.send_signal(signal.SIGTERM)
            wait_for(
                lambda: http.get("/ready").status_code == 503, timeout=5, what="/ready to be 503"
            )
            assert http.get("/health").status_code == 200  # still serving during the delay
            assert http.get("/ready").json() == {"status": "draining"}
        assert server.process.wait(30) == 0, server.log()
    finally:
        server.stop()


def test_a_second_signal_skips_the_drain_delay(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path, SHUTDOWN_DRAIN_SECONDS="60"))
    app = create_app(settings)
    server = build_server(settings, app)
    server.handle_exit(signal.SIGTERM, None)
    assert backend_state(app).lifecycle.phase is Phase.DRAINING
    assert not server.should_exit
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
