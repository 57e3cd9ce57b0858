"""A small two-tenant world seeded into a running server, for isolation tests.

Tenant A has venues V1 and V2; tenant B has venue V3. Each venue has an event with
tickets and a policy, a device, and a device kept for revocation. Every object name
carries a marker so a test can check that no foreign row leaks into a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess, new_id


@dataclass
class VenueData:
    tenant: str
    venue: str
    event: str
    device: str
    revocable_device: str
    marker: str
    ticket_ids: list[str] = field(default_factory=list)

    def identifiers(self) -> set[str]:
        """Strings that must not appear in answers to callers outside this venue."""
        return {self.event, self.device, self.revocable_device, self.marker}


@dataclass
class World:
    own: VenueData  # tenant A, venue V1: the venue of the staff and manager tokens
    other_venue: VenueData  # tenant A, venue V2
    other_tenant: VenueData  # tenant B, venue V3

    @property
    def tenant_a(self) -> str:
        return self.own.tenant


def _seed_venue(server: ServerProcess, tenant: str, marker: str, first_ticket: int) -> VenueData:
    venue = new_id()
    data = VenueData(tenant, venue, new_id(), new_id(), new_id(), marker)
    with server.client(server.token(Role.ADMIN, tenant)) as http:
        response = http.post(
            "/api/catalog/events",
            json={
                "id": data.event,
                "venueId": venue,
                "name": f"Event {marker}",
                "startsAt": "2030-06-01T18:00:00+02:00",
                "endsAt": "2030-06-01T23:30:00+02:00",
            },
        )
        assert response.status_code == 201, response.text
        data.ticket_ids = [f"{first_ticket + i:08x}" for i in range(3)]
        response = http.post(
            f"/api/catalog/events/{data.event}/tickets",
            json={"tickets": [{"id": t, "zones": [marker]} for t in data.ticket_ids]},
        )
        assert response.status_code == 200, response.text
        for device_id in (data.device, data.revocable_device):
            response = http.post(
                "/api/devices/register",
                json={
                    "deviceId": device_id,
                    "name": f"Gate {marker}",
                    "type": "SCANNER_GUN",
                    "venueId": venue,
                    "zone": marker,
                },
            )
            assert response.status_code == 201, response.text
        response = http.put(f"/api/policies/{data.event}", json={"gate_zones": {"main": marker}})
        assert response.status_code == 200, response.text
    return data


def seed_world(server: ServerProcess) -> World:
    tenant_a = f"tenant-a-{new_id()[:8]}"
    tenant_b = f"tenant-b-{new_id()[:8]}"
    return World(
        own=_seed_venue(server, tenant_a, f"OWN{new_id()[:8]}", 0x10000000),
        other_venue=_seed_venue(server, tenant_a, f"OTHERVENUE{new_id()[:8]}", 0x20000000),
        other_tenant=_seed_venue(server, tenant_b, f"OTHERTENANT{new_id()[:8]}", 0x30000000),
    )
