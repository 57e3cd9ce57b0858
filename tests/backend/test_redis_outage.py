"""Redis stops and comes back under a running backend: decisions stay right, `/ready` and
`/metrics` tell, and the shared state is used again without a restart (a private
redis-server, never the shared one)."""

from __future__ import annotations

import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend.helpers import ServerProcess, start_server, wait_for
from tests.backend.redis_kit import PrivateRedis, metric, redis_server
from tests.backend.scan_kit import Door, open_door

pytestmark = [pytest.mark.redis, pytest.mark.slow]

__all__ = ["redis_server"]  # the fixture, used below


def _ready(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/ready", timeout=5)
    assert response.status_code == 200, response.text  # degraded is still ready
    body: dict[str, Any] = response.json()
    return body


def _metrics(server: ServerProcess) -> str:
    return httpx.get(f"{server.url}/metrics", timeout=5).text


def _refused(server: ServerProcess, reason: str) -> float:
    return metric(_metrics(server), "scanctl_redis_refusals_total", reason=reason)


def _burst(door: Door, ticket: str, n: int) -> Counter[str]:
    """n fresh codes of one ticket scanned at once; the reasons they got."""
    codes = [door.mint(ticket) for _ in range(n)]
    with ThreadPoolExecutor(n) as pool:
        reasons = list(pool.map(lambda code: door.scan(code)["reason"], codes))
    return Counter(reasons)


def test_redis_outage_and_recovery(redis_server: PrivateRedis, tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "backend",
        REDIS_URL=redis_server.url,
        REDIS_KEY_PREFIX=f"test-{secrets.token_hex(4)}:",
    )
    door = open_door(server)
    try:
        door.policy(reentry_allowed=False)
        assert _ready(server) == {
            "status": "ready",
            "degraded": False,
            "details": {"redis": "ok", "rateLimits": "redis"},
        }

        # Redis up: a replay and a duplicate are refused from Redis, before the database.
        first = door.ticket()
        code = door.mint(first)
        assert door.scan(code)["reason"] == "ADMITTED"
        assert door.scan(code)["reason"] == "QR_ALREADY_USED"
        assert _refused(server, "QR_ALREADY_USED") == 1
        duplicate = door.scan(door.mint(first))
        assert duplicate["reason"] == "ALREADY_SCANNED"
        assert duplicate["admittedAt"] is not None
        assert _refused(server, "ALREADY_SCANNED") == 1
        text = _metrics(server)
        assert metric(text, "scanctl_redis_up") == 1
        assert metric(text, "scanctl_cache_hits_total", cache="tickets", level="memory") > 0
        assert "scanctl_cache_hit_ratio" not in text  # rates of the counters say it better
        assert metric(text, "scanctl_cache_misses_total", cache="tickets", level="memory") >= 0
        assert metric(text, "scanctl_db_queries_total", kind="select") > 0

        # Redis gone: the same answers, from the database.
        redis_server.kill()
        wait_for(
            lambda: _ready(server)["details"]["redis"] == "unavailable",
            timeout=10,
            what="/ready to report Redis unavailable",
        )
        assert _ready(server)["degraded"] is True
        assert door.scan(code)["reason"] == "QR_ALREADY_USED"
        second = door.ticket()
        assert _burst(door, second, 8) == Counter({"ADMITTED": 1, "ALREADY_SCANNED": 7})
        second_code = door.mint(second)
        assert door.scan(second_code)["reason"] == "ALREADY_SCANNED"
        assert door.scan(second_code)["reason"] == "QR_ALREADY_USED"
        text = _metrics(server)
        assert metric(text, "scanctl_redis_up") == 0
        assert metric(text, "scanctl_redis_failures_total") >= 1
        # Nothing was refused from Redis meanwhile: every refusal came from the database.
        assert metric(text, "scanctl_redis_refusals_total", reason="QR_ALREADY_USED") == 1
        assert metric(text, "scanctl_redis_refusals_total", reason="ALREADY_SCANNED") == 1
        assert metric(text, "scanctl_rate_limit_storage", storage="memory (redis down)") == 1
        assert _ready(server)["details"]["rateLimits"] == "memory (redis down)"

        # Redis back (empty: no persistence): used again without a restart.
        redis_server.start()
        wait_for(
            lambda: _ready(server)["details"]["redis"] == "ok",
            timeout=10,
            what="/ready to report Redis back",
        )
        # Redis forgot the nonce; the database did not.
        assert door.scan(second_code)["reason"] == "QR_ALREADY_USED"
        third = door.ticket()
        third_code = door.mint(third)
        assert door.scan(third_code)["reason"] == "ADMITTED"
        assert door.scan(third_code)["reason"] == "QR_ALREADY_USED"
        assert _refused(server, "QR_ALREADY_USED") == 2
        wait_for(
            lambda: _ready(server)["details"]["rateLimits"] == "redis",
            timeout=10,
            what="rate limits back on Redis",
        )
        text = _metrics(server)
        assert metric(text, "scanctl_redis_up") == 1
        assert metric(text, "scanctl_redis_recoveries_total") >= 1
        # The outage was logged as such, not as crashes.
        assert "Traceback" not in server.log()
        assert "Redis unavailable" in server.log()
    finally:
        door.admin.close()
        door.staff.close()
        assert server.stop() == 0, server.log()
