"""HttpMetrics.observe: one place counts a request, times it, and logs it when slow."""

from __future__ import annotations

import logging

import pytest

from scanctl.backend.metrics import HttpMetrics


def test_a_slow_request_is_counted_timed_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    metrics = HttpMetrics(slow_seconds=1.0)
    with caplog.at_level(logging.WARNING, logger="scanctl.backend.slow"):
        metrics.observe("POST", "/api/scan", 200, 0.2)
        metrics.observe("GET", "/api/scans", 503, 1.5)
    text = metrics.render().decode()
    assert 'scanctl_http_requests_total{method="POST",route="/api/scan",status="200"} 1.0' in text
    assert 'route="/api/scans",status="503"} 1.0' in text
    assert [r.getMessage() for r in caplog.records] == [
        "slow request: GET /api/scans status=503 duration_ms=1500"
    ]
