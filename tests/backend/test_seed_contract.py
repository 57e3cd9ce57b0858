"""The original scanning service's request shapes, sent to a real server: its device
registration names (``deviceName``, ``deviceType``) and the scan's ``metadata`` object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanctl.backend.api.scan import MAX_METADATA_BYTES
from scanctl.backend.auth import Role
from tests.backend.helpers import ServerProcess, new_id
from tests.backend.scan_kit import Door, open_door


@pytest.fixture(scope="module")
def door(server: ServerProcess) -> Iterator[Door]:
    opened = open_door(server)
    try:
        yield opened
    finally:
        opened.admin.close()
        opened.staff.close()


def _seed_device(door: Door, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deviceId": new_id(),
        "deviceName": "Front door handheld",
        "deviceType": "MOBILE",
        "venueId": door.venue,
        "canScanOffline": True,
        "zone": "GA",
    }
    body.update(changes)
    return body


def test_registration_takes_the_original_services_field_names(door: Door) -> None:
    body = _seed_device(door)
    response = door.admin.post("/api/devices/register", json=body)
    assert response.status_code == 201, response.text
    device = response.json()
    got = (device["deviceId"], device["name"], device["type"], device["canScanOffline"])
    assert got == (body["deviceId"], "Front door handheld", "MOBILE", True)
    assert device["zone"] == "GA"


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Twice named"},  # both spellings of one field
        {"type": "TABLET"},
        {"deviceName": None},  # neither
        {"deviceType": "TOASTER"},
        {"deviceName": "x" * 101},
    ],
)
def test_registration_refuses_ambiguous_or_bad_names(door: Door, change: dict[str, Any]) -> None:
    body = {k: v for k, v in _seed_device(door, **change).items() if v is not None}
    response = door.admin.post("/api/devices/register", json=body)
    assert response.status_code == 422, response.text


def test_a_scans_metadata_is_kept_and_listed_with_it(door: Door) -> None:
    metadata = {"appVersion": "3.2.1", "battery": 0.41, "tags": ["vip", None], "n": {"x": 1}}
    ticket = door.ticket()
    # The first scan goes through the whole application (a token not seen yet), the
    # second through the fast path: both keep the object.
    first = door.scan(door.mint(ticket), gate="north", metadata=metadata)
    second = door.scan(door.mint(ticket), gate="north", metadata={"attempt": 2})
    plain = door.scan(door.mint(ticket), gate="north")
    assert [first["reason"], second["reason"]] == ["ADMITTED", "ALREADY_SCANNED"]
    kept = _listed(door)
    assert kept[first["scanId"]] == metadata
    assert kept[second["scanId"]] == {"attempt": 2}
    assert kept[plain["scanId"]] is None


@pytest.mark.parametrize(
    "metadata",
    [
        {"blob": "x" * MAX_METADATA_BYTES},  # over the bound
        ["not", "an", "object"],
        "text",
    ],
    ids=["too-large", "array", "string"],
)
def test_metadata_is_bounded_and_an_object(door: Door, metadata: object) -> None:
    body = {"qrData": door.mint(door.ticket()), "eventId": door.event, "deviceId": door.device}
    response = door.staff.post("/api/scan", json={**body, "metadata": metadata})
    assert response.status_code == 422, response.text
    assert any("metadata" in d["loc"] for d in response.json()["detail"])


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_metadata_are_refused(door: Door, number: str) -> None:
    # Python's JSON reader takes these; JSON cannot carry them back out.
    fields = json.dumps({"qrData": "x", "eventId": door.event, "deviceId": door.device})
    body = fields[:-1] + ', "metadata": {"t": ' + number + "}}"
    response = door.staff.post(
        "/api/scan", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert any("metadata" in d["loc"] for d in response.json()["detail"])


# Text the backend stores: no NUL and no lone surrogate (those are a 422 naming the field,
# everywhere: issue 21), which JSON from a real client cannot hold in UTF-8 anyway.
_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(_TEXT, max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(_TEXT, max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(metadata=st.dictionaries(st.text(_TEXT, max_size=12), _JSON, max_size=6))
def test_any_small_json_object_round_trips(door: Door, metadata: dict[str, Any]) -> None:
    body = {"qrData": "garbage", "eventId": door.event, "deviceId": door.device}
    response = door.staff.post("/api/scan", json={**body, "metadata": metadata})
    if len(json.dumps(metadata, separators=(",", ":"))) > MAX_METADATA_BYTES:
        assert response.status_code == 422, response.text
        return
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["reason"] == "INVALID"
    assert _listed(door)[answer["scanId"]] == metadata


def _listed(door: Door) -> dict[str, Any]:
    """Every scan of the door's event: its metadata by scan id."""
    kept: dict[str, Any] = {}
    params: dict[str, Any] = {"eventId": door.event, "limit": 1000}
    while True:
        page = door.admin.get("/api/scans", params=params)
        assert page.status_code == 200, page.text
        kept.update({s["id"]: s["metadata"] for s in page.json()["scans"]})
        if page.json()["next"] is None:
            return kept
        params["cursor"] = page.json()["next"]


def test_the_openapi_document_names_both_contracts(server: ServerProcess) -> None:
    with server.client(server.token(Role.ADMIN, "doc-tenant")) as http:
        schemas = http.get("/openapi.json").json()["components"]["schemas"]
    device = schemas["DeviceIn"]["properties"]
    assert {"name", "deviceName", "type", "deviceType", "deviceId", "venueId"} <= set(device)
    assert {"canScanOffline", "zone"} <= set(device)
    assert "metadata" in schemas["scanctl__backend__api__scan__ScanIn"]["properties"]
    assert "admittedDevice" in schemas["ScanOut"]["properties"]
