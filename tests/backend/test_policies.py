"""Policies per event and the tenant's templates, validated by core.Policy."""

from __future__ import annotations

from typing import Any

import pytest

from scanctl.backend.auth import Role
from scanctl.backend.settings import Settings
from scanctl.core import POLICY_TEMPLATES
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, new_id


@pytest.fixture
def event(admin: AppClient, venue: str) -> str:
    event_id = new_id()
    response = admin.post(
        "/api/catalog/events",
        json={
            "id": event_id,
            "venueId": venue,
            "name": "Policy night",
            "startsAt": "2030-06-01T18:00:00Z",
            "endsAt": "2030-06-01T23:00:00Z",
        },
    )
    assert response.status_code == 201
    return event_id


def test_default_until_set(admin: AppClient, event: str, settings: Settings) -> None:
    policy = admin.get(f"/api/policies/{event}").json()
    assert policy["isDefault"] is True
    assert policy["policy"]["duplicate_window_seconds"] == settings.duplicate_scan_window_seconds
    assert policy["policy"]["qr_lifetime_seconds"] == settings.qr_expiration_seconds


def test_put_and_get(admin: AppClient, event: str) -> None:
    body = POLICY_TEMPLATES["festival-reentry"].as_dict()
    put = admin.put(f"/api/policies/{event}", json=body)
    assert put.status_code == 200
    got = admin.get(f"/api/policies/{event}").json()
    assert got["isDefault"] is False
    assert got["policy"] == body
    assert got["updatedBy"] == "admin@t1"


@pytest.mark.parametrize(
    "body",
    [
        {"duplicate_window_seconds": -1},
        {"qr_lifetime_seconds": 1},
        {"max_reentries": 3},  # needs reentry_allowed
        {"mode": "sometimes"},
        {"duplicateWindowSeconds": 10},  # unknown key
        [],
    ],
)
def test_invalid_policies_are_422(admin: AppClient, event: str, body: Any) -> None:
    assert admin.put(f"/api/policies/{event}", json=body).status_code == 422


def test_templates(admin: AppClient, settings: Settings, venue: str) -> None:
    listed = admin.get("/api/policy-templates").json()
    assert {t["name"] for t in listed} == set(POLICY_TEMPLATES)
    assert all(t["builtIn"] for t in listed)
    custom = {"reentry_allowed": True, "cooldown_seconds": 60}
    assert admin.put("/api/policy-templates/late-bar", json=custom).status_code == 200
    got = admin.get("/api/policy-templates/late-bar").json()
    assert got["builtIn"] is False
    assert got["policy"]["cooldown_seconds"] == 60
    manager = mint(settings, Role.VENUE_MANAGER, venue=venue)
    as_manager = {"Authorization": f"Bearer {manager}"}
    assert admin.get("/api/policy-templates/late-bar", headers=as_manager).status_code == 200
    denied = admin.put("/api/policy-templates/late-bar", json=custom, headers=as_manager)
    assert denied.status_code == 403
    other_tenant = {"Authorization": f"Bearer {mint(settings, Role.ADMIN, tenant='t2')}"}
    assert admin.get("/api/policy-templates/late-bar", headers=other_tenant).status_code == 404
    assert admin.delete("/api/policy-templates/late-bar").status_code == 204
    assert admin.delete("/api/policy-templates/late-bar").status_code == 404
    assert admin.delete("/api/policy-templates/standard").status_code == 404
    assert admin.get("/api/policy-templates/Bad Name").status_code == 422
