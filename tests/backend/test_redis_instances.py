"""Two backend processes on one PostgreSQL database and one Redis share what Redis carries:
rate-limit counts, nonce claims, last admissions, cache invalidations."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import (
    ServerProcess,
    fresh_secret,
    fresh_signing_key,
    start_server,
    wait_for,
)
from tests.backend.redis_kit import PrivateRedis, metric, redis_server
from tests.backend.scan_kit import open_door

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

__all__ = ["redis_server"]  # the fixture, used below


@pytest.fixture
def two_instances(
    app_role_url: str, redis_server: PrivateRedis, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    # Migrated once by the owner (`app_role_url`); the instances run as a role that owns
    # nothing, as the service requires on PostgreSQL.
    shared = {
        "DATABASE_URL": app_role_url,
        "REDIS_URL": redis_server.url,
        "REDIS_KEY_PREFIX": f"test-{secrets.token_hex(4)}:",
        "HMAC_SECRET": fresh_secret(),
        "JWT_SECRET": fresh_secret(),
        "MANIFEST_SIGNING_KEY": fresh_signing_key(),
    }
    first = start_server(tmp_path / "a", **shared)
    try:
        second = start_server(tmp_path / "b", **shared)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        for server in (first, second):
            assert server.stop() == 0, server.log()


def _metrics(server: ServerProcess) -> str:
    with server.client() as client:
        return client.get("/metrics").text


def test_instances_share_redis_state(two_instances: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two_instances
    door = open_door(a)
    staff_b = b.client(b.token(Role.VENUE_STAFF, door.tenant, door.venue))
    try:
        door.policy(reentry_allowed=False, scanner_rate_limit_per_minute=6)

        # A code admitted at A is a replay at B, refused from Redis (not the database).
        ticket = door.ticket()
        code = door.mint(ticket)
        assert door.scan(code)["reason"] == "ADMITTED"
        assert door.scan(code, client=staff_b)["reason"] == "QR_ALREADY_USED"
        text = _metrics(b)
        assert metric(text, "scanctl_redis_refusals_total", reason="QR_ALREADY_USED") == 1
        # B found the event and the policy A had read in Redis, not in the database.
        assert metric(text, "scanctl_cache_hits_total", cache="events", level="redis") >= 1
        assert metric(text, "scanctl_cache_hits_total", cache="policies", level="redis") >= 1
        # A fresh code of the admitted ticket: a duplicate at B, with A's time of admission.
        duplicate = door.scan(door.mint(ticket), client=staff_b)
        assert duplicate["reason"] == "ALREADY_SCANNED"
        assert duplicate["admittedAt"] is not None
        assert duplicate["admittedDevice"] == door.device  # Redis carries the device too
        assert metric(_metrics(b), "scanctl_redis_refusals_total", reason="ALREADY_SCANNED") == 1

        # A refund written at A reaches B's cache through Redis, long before its 30 s TTL.
        refunded = door.ticket()
        assert door.scan(door.mint(refunded), client=staff_b)["reason"] == "ADMITTED"
        received = metric(_metrics(b), "scanctl_redis_invalidations_received_total")
        response = door.admin.post(
            f"/api/catalog/events/{door.event}/tickets",
            json={"tickets": [{"id": refunded, "status": "REFUNDED"}]},
        )
        assert response.status_code == 200, response.text
        wait_for(
            lambda: metric(_metrics(b), "scanctl_redis_invalidations_received_total") > received,
            timeout=5,
            what="B to receive A's invalidation",
        )
        assert door.scan(door.mint(refunded), client=staff_b)["reason"] == "TICKET_REFUNDED"

        # The device's rate limit (6 a minute) is counted across both instances: 5 scans
        # so far, one more is allowed, the next is limited wherever it lands.
        spare = door.ticket()
        assert door.scan(door.mint(spare), client=staff_b)["reason"] == "ADMITTED"
        limited = door.scan(door.mint(door.ticket()))
        assert limited["reason"] == "RATE_LIMITED", limited
        assert door.scan(door.mint(spare), client=staff_b)["reason"] == "RATE_LIMITED"
        text = _metrics(a)
        assert metric(text, "scanctl_rate_limit_storage", storage="redis") == 1
        assert metric(text, "scanctl_db_queries_total", kind="select") > 0
        assert metric(text, "scanctl_db_pool_size") == 10  # the PostgreSQL engine's pool

        # Policy writes (60 a minute per caller) are counted across both instances too.
        editor = "policy-editor"
        with (
            a.client(a.token(Role.ADMIN, door.tenant, subject=editor)) as at_a,
            b.client(b.token(Role.ADMIN, door.tenant, subject=editor)) as at_b,
        ):
            path = f"/api/policies/{door.event}"
            answers = [
                (at_a if n % 2 else at_b).put(path, json={"cooldown_seconds": n}).status_code
                for n in range(60)
            ]
            assert answers == [200] * 60
            refused = at_a.put(path, json={})
            assert (refused.status_code, at_b.put(path, json={}).status_code) == (429, 429)
            assert int(refused.headers["Retry-After"]) >= 1
    finally:
        staff_b.close()
        door.admin.close()
        door.staff.close()
