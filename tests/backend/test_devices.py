"""Devices: registration, validation, conflicts, revocation and the per-venue rate limit."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.settings import Settings, load_settings
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env, new_id
from tests.services import service_unavailable


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def device_body(venue: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deviceId": new_id(),
        "name": "North gate 1",
        "type": "SCANNER_GUN",
        "venueId": venue,
        "canScanOffline": True,
        "zone": "GA",
        "signingPublicKey": _key(),
        "sealingPublicKey": _key(),
    }
    body.update(changes)
    return body


def test_register_show_list_revoke(admin: AppClient, venue: str) -> None:
    body = device_body(venue)
    created = admin.post("/api/devices/register", json=body)
    assert created.status_code == 201, created.text
    device = created.json()
    assert device["deviceId"] == body["deviceId"]
    assert device["status"] == "ACTIVE"
    assert device["signingPublicKey"] == body["signingPublicKey"]
    assert device["createdAt"].endswith("Z")
    # The registration answer also names the manifest signing key the device should trust.
    assert len(device.pop("manifestSigningKeyId")) == 16
    assert device.pop("manifestSigningKey")
    assert admin.get(f"/api/devices/{body['deviceId']}").json() == device
    assert [d["deviceId"] for d in admin.get("/api/devices").json()] == [body["deviceId"]]

    revoked = admin.delete(f"/api/devices/{body['deviceId']}")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "REVOKED"
    assert revoked.json()["revokedAt"] is not None
    again = admin.delete(f"/api/devices/{body['deviceId']}")
    assert again.json()["revokedAt"] == revoked.json()["revokedAt"]
    active = admin.get("/api/devices", params={"includeRevoked": "false"}).json()
    assert active == []


def test_duplicate_id_is_a_conflict(admin: AppClient, venue: str) -> None:
    body = device_body(venue)
    assert admin.post("/api/devices/register", json=body).status_code == 201
    response = admin.post("/api/devices/register", json=body)
    assert response.status_code == 409


def test_same_device_id_in_two_tenants_does_not_collide(
    settings: Settings, admin: AppClient, venue: str
) -> None:
    body = device_body(venue)
    assert admin.post("/api/devices/register", json=body).status_code == 201
    other = mint(settings, Role.ADMIN, tenant="t2")
    response = admin.post(
        "/api/devices/register", json=body, headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 201  # nothing tells t2 that t1 has this id


@pytest.mark.parametrize(
    "change",
    [
        {"deviceId": "not-a-uuid"},
        {"type": "TOASTER"},
        {"name": ""},
        {"name": "x" * 101},
        {"venueId": 12},
        {"zone": "has spaces"},
        {"signingPublicKey": "AAAA"},
        {"sealingPublicKey": base64.b64encode(b"x" * 31).decode() + "="},
        {"canScanOffline": "perhaps"},
        {"unexpected": True},
    ],
)
def test_bad_bodies_are_422_with_field_details(
    admin: AppClient, venue: str, change: dict[str, Any]
) -> None:
    response = admin.post("/api/devices/register", json=device_body(venue, **change))
    assert response.status_code == 422, response.text
    details = response.json()["detail"]
    assert details and all("loc" in d and "msg" in d for d in details)
    field = next(iter(change))
    assert any(field in d["loc"] for d in details)


def test_malformed_json_is_422(admin: AppClient) -> None:
    response = admin.post(
        "/api/devices/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_registration_is_limited_per_venue(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path))
    venue, other_venue = new_id(), new_id()
    manager = {"Authorization": f"Bearer {mint(settings, Role.VENUE_MANAGER, venue=venue)}"}
    other = {"Authorization": f"Bearer {mint(settings, Role.VENUE_MANAGER, venue=other_venue)}"}
    with AppClient(create_app(settings), headers=manager) as api:
        for _ in range(10):
            response = api.post("/api/devices/register", json=device_body(venue))
            assert response.status_code == 201
        limited = api.post("/api/devices/register", json=device_body(venue))
        assert limited.status_code == 429
        retry_after = int(limited.headers["Retry-After"])
        assert 0 < retry_after <= 3600
        # The answer names the setting and the wait.
        detail = limited.json()["detail"]
        assert "DEVICE_REGISTRATION_LIMIT is 10/hour" in detail
        assert f"in {retry_after} s" in detail
        response = api.post("/api/devices/register", json=device_body(other_venue), headers=other)
        assert response.status_code == 201


def test_admins_are_not_limited_per_venue(tmp_path: Path) -> None:
    # An ADMIN sets a venue up at once: the 11th gate of a venue is routine.
    settings = load_settings(environ=base_env(tmp_path, DEVICE_REGISTRATION_LIMIT="2/hour"))
    venue = new_id()
    token = mint(settings, Role.ADMIN)
    with AppClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as api:
        for _ in range(11):
            response = api.post("/api/devices/register", json=device_body(venue))
            assert response.status_code == 201


def test_out_of_venue_registration_does_not_spend_the_venues_limit(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path, DEVICE_REGISTRATION_LIMIT="1/hour"))
    venue, intruder_venue = new_id(), new_id()
    intruder = mint(settings, Role.VENUE_MANAGER, venue=intruder_venue)
    manager = mint(settings, Role.VENUE_MANAGER, venue=venue)
    with AppClient(create_app(settings)) as api:
        for _ in range(3):
            response = api.post(
                "/api/devices/register",
                json=device_body(venue),
                headers={"Authorization": f"Bearer {intruder}"},
            )
            assert response.status_code == 403
        response = api.post(
            "/api/devices/register",
            json=device_body(venue),
            headers={"Authorization": f"Bearer {manager}"},
        )
        assert response.status_code == 201


@pytest.mark.redis
def test_the_limit_is_shared_through_redis(tmp_path: Path) -> None:
    """Two instances on one Redis count registrations together (the scaled-out set-up)."""
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        service_unavailable("Redis is not reachable at 127.0.0.1:6379")
    env = base_env(tmp_path, RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:6379/0")
    first = load_settings(environ={**env, "SCANCTL_DATA_DIR": str(tmp_path / "a")})
    second = load_settings(environ={**env, "SCANCTL_DATA_DIR": str(tmp_path / "b")})
    venue = new_id()  # fresh: no earlier run's counts apply
    headers = {"Authorization": f"Bearer {mint(first, Role.VENUE_MANAGER, venue=venue)}"}
    with (
        AppClient(create_app(first), headers=headers) as one,
        AppClient(create_app(second), headers=headers) as two,
    ):
        for i in range(10):
            api = one if i % 2 else two
            assert api.post("/api/devices/register", json=device_body(venue)).status_code == 201
        assert one.post("/api/devices/register", json=device_body(venue)).status_code == 429
        assert two.post("/api/devices/register", json=device_body(venue)).status_code == 429
