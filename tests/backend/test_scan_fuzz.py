"""Garbage never gets a 5xx from POST /api/scan: fuzzed codes are decisions, fuzzed bodies 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.backend.helpers import ServerProcess
from tests.backend.scan_kit import Door, open_door

_FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def door(server: ServerProcess) -> Iterator[Door]:
    opened = open_door(server)
    opened.policy(scanner_rate_limit_per_minute=100_000)
    try:
        yield opened
    finally:
        opened.admin.close()
        opened.staff.close()


def _near_tokens() -> st.SearchStrategy[str]:
    hexes = st.text("0123456789abcdef", min_size=0, max_size=70)
    return st.builds(
        lambda a, b, c, d, sep: sep.join([a, b, c, d]),
        hexes,
        st.text("0123456789", max_size=14),
        hexes,
        hexes,
        st.sampled_from([":", "::", ";", ""]),
    )


@_FUZZ
@given(code=st.one_of(st.text(max_size=600), _near_tokens()))
def test_garbage_codes_are_invalid_decisions(door: Door, code: str) -> None:
    response = door.staff.post(
        "/api/scan", json={"qrData": code, "eventId": door.event, "deviceId": door.device}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["allowed"] is False
    assert body["reason"] in {"INVALID", "QR_EXPIRED"}


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@_FUZZ
@given(
    body=st.one_of(
        _json,
        st.fixed_dictionaries(
            {"qrData": _json, "eventId": _json, "deviceId": _json},
            optional={"gate": _json, "direction": _json, "timestamp": _json},
        ),
    )
)
def test_garbage_bodies_never_fail_the_server(door: Door, body: Any) -> None:
    response = door.staff.post("/api/scan", json=body)
    assert response.status_code < 500, response.text
