"""Role × route × (own venue, other venue of the tenant, other tenant): status, and no leaks.

Runs against the real server process. For each cell the expected status follows from
the rules in `scanctl.backend.auth.permissions`; every answer is searched for the
identifiers and name markers of rows the caller must not see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess, new_id
from tests.backend.world import VenueData, World

ROLES = (Role.VENUE_STAFF, Role.VENUE_MANAGER, Role.ADMIN, Role.SYSTEM)
TARGETS = ("own", "other_venue", "other_tenant")


@dataclass(frozen=True)
class Route:
    name: str
    permission: str  # "read", or the permission a write needs
    by_id: bool  # addresses an existing object by id (foreign tenant: 404)
    request: Callable[[VenueData], tuple[str, str, Any]]
    ok: int = 200


def _event_body(v: VenueData) -> dict[str, Any]:
    return {
        "id": new_id(),
        "venueId": v.venue,
        "name": "New event",
        "startsAt": "2030-07-01T18:00:00Z",
        "endsAt": "2030-07-01T23:00:00Z",
    }


def _device_body(v: VenueData) -> dict[str, Any]:
    return {"deviceId": new_id(), "name": "New gate", "type": "MOBILE", "venueId": v.venue}


ROUTES = [
    Route("get event", "read", True, lambda v: ("GET", f"/api/catalog/events/{v.event}", None)),
    Route(
        "list events of venue",
        "read",
        False,
        lambda v: ("GET", f"/api/catalog/events?venueId={v.venue}", None),
    ),
    Route(
        "list tickets",
        "read",
        True,
        lambda v: ("GET", f"/api/catalog/events/{v.event}/tickets", None),
    ),
    Route(
        "upsert tickets",
        "catalog",
        True,
        lambda v: (
            "POST",
            f"/api/catalog/events/{v.event}/tickets",
            {"tickets": [{"id": v.ticket_ids[0], "zones": [v.marker]}]},
        ),
    ),
    Route(
        "create event",
        "catalog",
        False,
        lambda v: ("POST", "/api/catalog/events", _event_body(v)),
        ok=201,
    ),
    Route("get device", "read", True, lambda v: ("GET", f"/api/devices/{v.device}", None)),
    Route(
        "list devices of venue",
        "read",
        False,
        lambda v: ("GET", f"/api/devices?venueId={v.venue}", None),
    ),
    Route(
        "register device",
        "devices",
        False,
        lambda v: ("POST", "/api/devices/register", _device_body(v)),
        ok=201,
    ),
    Route(
        "revoke device",
        "devices",
        True,
        lambda v: ("DELETE", f"/api/devices/{v.revocable_device}", None),
    ),
    Route("get policy", "read", True, lambda v: ("GET", f"/api/policies/{v.event}", None)),
    Route(
        "put policy",
        "policies",
        True,
        lambda v: ("PUT", f"/api/policies/{v.event}", {"gate_zones": {"main": v.marker}}),
    ),
]

GRANTS = {
    Role.VENUE_STAFF: {"read"},
    Role.VENUE_MANAGER: {"read", "catalog", "devices", "policies"},
    Role.ADMIN: {"read", "catalog", "devices", "policies"},
    Role.SYSTEM: {"read", "catalog"},
}


def expected_status(role: Role, route: Route, target: str) -> int:
    if route.permission not in GRANTS[role]:
        return 403
    tenant_wide = role in (Role.ADMIN, Role.SYSTEM)
    if target == "own" or (target == "other_venue" and tenant_wide):
        return route.ok
    if target == "other_venue":
        return 403
    # Another tenant: its objects do not exist for this caller.
    if route.by_id:
        return 404
    if tenant_wide:
        # A venue id is only a label: listing it shows nothing of the other tenant, and a
        # write creates an object of the caller's own tenant.
        return route.ok
    return 403


def token_for(server: ServerProcess, world: World, role: Role) -> str:
    venue = None if role in (Role.ADMIN, Role.SYSTEM) else world.own.venue
    return server.token(role, world.tenant_a, venue, subject=f"matrix-{role.value}")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_matrix(server: ServerProcess, world: World, role: Role, route: Route, target: str) -> None:
    data: VenueData = getattr(world, target)
    method, path, body = route.request(data)
    with server.client(token_for(server, world, role)) as http:
        response = http.request(method, path, json=body)
    assert response.status_code == expected_status(role, route, target), response.text

    forbidden = set(world.other_tenant.identifiers())
    if role not in (Role.ADMIN, Role.SYSTEM):
        forbidden |= world.other_venue.identifiers()
    leaked = {marker for marker in forbidden if marker in response.text}
    assert not leaked, f"{leaked} in {response.text}"


def test_foreign_and_missing_objects_get_the_same_404(server: ServerProcess, world: World) -> None:
    with server.client(token_for(server, world, Role.ADMIN)) as http:
        foreign = http.get(f"/api/devices/{world.other_tenant.device}")
        missing = http.get(f"/api/devices/{new_id()}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content
        assert dict(foreign.headers).keys() == dict(missing.headers).keys()
        foreign = http.get(f"/api/catalog/events/{world.other_tenant.event}")
        missing = http.get(f"/api/catalog/events/{new_id()}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content


def test_lists_show_only_the_callers_rows(server: ServerProcess, world: World) -> None:
    with server.client(token_for(server, world, Role.VENUE_STAFF)) as http:
        devices = http.get("/api/devices").json()
        events = http.get("/api/catalog/events").json()
    assert {d["venueId"] for d in devices} == {world.own.venue}
    assert world.own.device in {d["deviceId"] for d in devices}
    assert {e["venueId"] for e in events} == {world.own.venue}
    with server.client(token_for(server, world, Role.ADMIN)) as http:
        devices = http.get("/api/devices").json()
        events = http.get("/api/catalog/events").json()
    venues = {world.own.venue, world.other_venue.venue}
    assert {world.own.device, world.other_venue.device} <= {d["deviceId"] for d in devices}
    assert {e["id"] for e in events} >= {world.own.event, world.other_venue.event}
    assert world.other_tenant.event not in {e["id"] for e in events}
    assert {e["venueId"] for e in events if e["id"] in {world.own.event}} <= venues


def test_other_venue_attempts_are_audited(server: ServerProcess, world: World) -> None:
    device = new_id()
    subject = f"auditee-{new_id()[:8]}"
    token = server.token(Role.VENUE_MANAGER, world.tenant_a, world.own.venue, subject=subject)
    with server.client(token, headers={"X-Device-Id": device}) as http:
        response = http.get(f"/api/devices/{world.other_venue.device}")
        assert response.status_code == 403
    with server.client(token_for(server, world, Role.ADMIN)) as http:
        entries = http.get("/api/audit", params={"limit": 1000}).json()
    mine = [e for e in entries if e["actor"] == subject]
    assert len(mine) == 1
    entry = mine[0]
    assert entry["outcome"] == "denied"
    assert entry["action"] == "GET /api/devices/{deviceId}"
    assert entry["targetKind"] == "device"
    assert entry["targetId"] == world.other_venue.device
    assert entry["venueId"] == world.other_venue.venue
    assert entry["deviceId"] == device
    assert entry["actorRole"] == "VENUE_MANAGER"
    assert entry["at"]
    # The other tenant's admin sees none of it.
    with server.client(server.token(Role.ADMIN, world.other_tenant.tenant)) as http:
        theirs = http.get("/api/audit", params={"limit": 1000}).json()
    assert subject not in str(theirs)
