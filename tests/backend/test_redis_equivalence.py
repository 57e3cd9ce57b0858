"""Redis never changes a decision: the same scans, with and without REDIS_URL, get the
same reasons (property test over policies and sequences of fresh codes, replays, exits
and refunds, against a private redis-server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.settings import load_settings
from scanctl.backend.state import backend_state
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env, new_id
from tests.backend.redis_kit import metric, private_redis
from tests.backend.scan_kit import independent_token

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TENANT = "t-equivalence"


@dataclass
class Twin:
    """One app; the same venue, event ids and device ids as its twin."""

    client: AppClient

    def post(self, path: str, body: object) -> dict[str, object]:
        response = self.client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, object] = response.json()
        return answer

    def put(self, path: str, body: object) -> None:
        response = self.client.put(path, json=body)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Twin, Twin, str, str]]:
    root = tmp_path_factory.mktemp("equivalence")
    with private_redis(root / "redis") as redis_server:
        env = base_env(root)
        plain = load_settings(environ={**env, "SCANCTL_DATA_DIR": str(root / "plain")})
        shared = load_settings(
            environ={
                **env,
                "SCANCTL_DATA_DIR": str(root / "shared"),
                "REDIS_URL": redis_server.url,
                "REDIS_KEY_PREFIX": "equivalence:",
            }
        )
        venue, device = new_id(), new_id()
        headers = {"Authorization": f"Bearer {mint(plain, Role.ADMIN, TENANT)}"}
        with (
            AppClient(create_app(plain), headers=headers) as one,
            AppClient(create_app(shared), headers=headers) as two,
        ):
            pair = Twin(one), Twin(two)
            for twin in pair:
                twin.post(
                    "/api/devices/register",
                    {"deviceId": device, "name": "Gate", "type": "POS", "venueId": venue},
                )
            yield pair[0], pair[1], venue, device
            text = two.get("/metrics").text
            # The property held while Redis did refuse scans (not a vacuous pass).
            assert metric(text, "scanctl_redis_refusals_total", reason="QR_ALREADY_USED") > 0
            assert metric(text, "scanctl_redis_refusals_total", reason="ALREADY_SCANNED") > 0


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


operations = st.lists(
    st.one_of(
        st.tuples(st.just("fresh"), st.integers(0, 2), st.sampled_from(["entry", "exit"])),
        st.tuples(st.just("replay"), st.integers(0, 20), st.just("entry")),
        st.tuples(st.just("refund"), st.integers(0, 2), st.just("")),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reentry=st.booleans(),
    window=st.sampled_from([0, 600]),
    ops=operations,
)
# Always tried, whatever hypothesis draws: Redis refuses a duplicate and a replay
# without re-entry, and must stay out of the way of a re-entry after an exit.
@example(
    reentry=False,
    window=600,
    ops=[("fresh", 0, "entry"), ("fresh", 0, "entry"), ("replay", 1, "entry")],
)
@example(
    reentry=True,
    window=600,
    ops=[("fresh", 0, "entry"), ("fresh", 0, "exit"), ("fresh", 0, "entry")],
)
def test_redis_never_changes_a_decision(
    twins: tuple[Twin, Twin, str, str],
    reentry: bool,
    window: int,
    ops: list[tuple[str, int, str]],
) -> None:
    plain, shared, venue, device = twins
    secret = backend_state(plain.client.app).settings.hmac_secret.get_secret_value()
    event = new_id()
    tickets = [f"{i:08x}" for i in range(3)]
    for twin in (plain, shared):
        twin.post(
            "/api/catalog/events",
            {
                "id": event,
                "venueId": venue,
                "name": "Equivalence",
                "startsAt": _iso(timedelta(hours=-1)),
                "endsAt": _iso(timedelta(hours=3)),
            },
        )
        twin.post(f"/api/catalog/events/{event}/tickets", {"tickets": [{"id": t} for t in tickets]})
        twin.put(
            f"/api/policies/{event}",
            {
                "reentry_allowed": reentry,
                "duplicate_window_seconds": window,
                # Hundreds of scans a minute from one device: the limit is not the point
                # here (memory and Redis round the sliding window differently).
                "scanner_rate_limit_per_minute": 100_000,
            },
        )
    codes: list[str] = []
    answers: list[tuple[str, str]] = []
    for kind, index, direction in ops:
        if kind == "refund":
            for twin in (plain, shared):
                twin.post(
                    f"/api/catalog/events/{event}/tickets",
                    {"tickets": [{"id": tickets[index], "status": "REFUNDED"}]},
                )
            continue
        if kind == "replay" and codes:
            code = codes[index % len(codes)]
        else:
            at_ms = int(time.time() * 1000)
            code = independent_token(secret, TENANT, event, tickets[index % 3], at_ms)
            codes.append(code)
        body = {"qrData": code, "eventId": event, "deviceId": device, "direction": direction}
        reasons = tuple(str(twin.post("/api/scan", body)["reason"]) for twin in (plain, shared))
        answers.append(reasons)
    for without, with_redis in answers:
        assert without == with_redis, answers
