"""Catalog API: events, bulk ticket upsert (idempotent, sequenced), validation, paging."""

from __future__ import annotations

from typing import Any

import pytest

from scanctl.backend.auth import Role
from tests.backend.helpers import AppClient, ServerProcess, new_id


def event_body(venue: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": new_id(),
        "venueId": venue,
        "name": "Summer night",
        "startsAt": "2030-06-01T18:00:00+02:00",
        "endsAt": "2030-06-02T01:00:00+02:00",
    }
    body.update(changes)
    return body


@pytest.fixture
def event(admin: AppClient, venue: str) -> str:
    body = event_body(venue)
    assert admin.post("/api/catalog/events", json=body).status_code == 201
    return str(body["id"])


def test_create_then_update_event(admin: AppClient, venue: str) -> None:
    body = event_body(venue)
    created = admin.post("/api/catalog/events", json=body)
    assert created.status_code == 201
    assert created.json()["startsAt"] == "2030-06-01T16:00:00Z"
    updated = admin.post("/api/catalog/events", json={**body, "name": "Renamed"})
    assert updated.status_code == 200
    assert updated.json()["name"] == "Renamed"
    moved = admin.post("/api/catalog/events", json={**body, "venueId": new_id()})
    assert moved.status_code == 409


@pytest.mark.parametrize(
    "change",
    [
        {"id": "nope"},
        {"startsAt": "2030-06-01T18:00:00"},  # no timezone
        {"endsAt": "2030-06-01T17:00:00+02:00"},  # before the start
        {"name": "   "},
        {"startsAt": "1960-01-01T00:00:00Z"},
        {"extra": 1},
    ],
)
def test_bad_events_are_422(admin: AppClient, venue: str, change: dict[str, Any]) -> None:
    assert admin.post("/api/catalog/events", json=event_body(venue, **change)).status_code == 422


def test_upsert_is_idempotent_and_sequenced(admin: AppClient, event: str) -> None:
    url = f"/api/catalog/events/{event}/tickets"
    tickets = [
        {"id": "0000000a", "zones": ["GA"]},
        {"id": "0000000b", "status": "TRANSFERRED", "transferredTo": "0000000c"},
        {
            "id": "0000000d",
            "validFrom": "2030-06-01T18:00:00Z",
            "validUntil": "2030-06-01T20:00:00Z",
            "staticHash": "ab" * 32,
        },
    ]
    first = admin.post(url, json={"tickets": tickets}).json()
    assert first == {"created": 3, "updated": 0, "unchanged": 0, "sequence": 1}
    again = admin.post(url, json={"tickets": tickets}).json()
    assert again == {"created": 0, "updated": 0, "unchanged": 3, "sequence": 1}
    tickets[0] = {"id": "0000000a", "status": "REFUNDED", "zones": ["GA"]}
    changed = admin.post(url, json={"tickets": tickets}).json()
    assert changed == {"created": 0, "updated": 1, "unchanged": 2, "sequence": 2}
    listed = admin.get(url).json()["tickets"]
    by_id = {t["id"]: t for t in listed}
    assert by_id["0000000a"]["status"] == "REFUNDED"
    assert by_id["0000000a"]["updatedSeq"] == 2
    assert by_id["0000000b"]["updatedSeq"] == 1
    assert by_id["0000000d"]["validUntil"] == "2030-06-01T20:00:00Z"
    assert admin.get(f"/api/catalog/events/{event}").json()["ticketSequence"] == 2


def test_paging(admin: AppClient, event: str) -> None:
    url = f"/api/catalog/events/{event}/tickets"
    ids = [f"{i:08x}" for i in range(25)]
    admin.post(url, json={"tickets": [{"id": t} for t in ids]})
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 10}
        if after:
            params["after"] = after
        page = admin.get(url, params=params).json()
        seen += [t["id"] for t in page["tickets"]]
        after = page["next"]
        if after is None:
            break
    assert seen == ids


def test_ten_thousand_per_call(admin: AppClient, event: str) -> None:
    url = f"/api/catalog/events/{event}/tickets"
    tickets = [{"id": f"{i:08x}"} for i in range(10_000)]
    assert admin.post(url, json={"tickets": tickets}).json()["created"] == 10_000
    too_many = admin.post(url, json={"tickets": [*tickets, {"id": "ffffffff"}]})
    assert too_many.status_code == 422


@pytest.mark.parametrize(
    "ticket",
    [
        {"id": "ABCDEF12"},
        {"id": "abc"},
        {"id": "0000000g"},
        {"id": "0000000a", "status": "LOST"},
        {"id": "0000000a", "status": "TRANSFERRED"},
        {"id": "0000000a", "transferredTo": "0000000b"},
        {"id": "0000000a", "zones": ["x" * 65]},
        {"id": "0000000a", "zones": ["z"] * 33},
        {
            "id": "0000000a",
            "validFrom": "2030-01-02T00:00:00Z",
            "validUntil": "2030-01-01T00:00:00Z",
        },
        {"id": "0000000a", "staticHash": "xyz"},
        {"id": "0000000a", "colour": "red"},
    ],
)
def test_bad_tickets_are_422(admin: AppClient, event: str, ticket: dict[str, Any]) -> None:
    response = admin.post(f"/api/catalog/events/{event}/tickets", json={"tickets": [ticket]})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:3] == ["body", "tickets", 0]


def test_empty_batch_is_422(admin: AppClient, event: str) -> None:
    assert (
        admin.post(f"/api/catalog/events/{event}/tickets", json={"tickets": []}).status_code == 422
    )


def test_unknown_event_is_404(admin: AppClient) -> None:
    response = admin.post(
        f"/api/catalog/events/{new_id()}/tickets", json={"tickets": [{"id": "0000000a"}]}
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "event not found"}


def test_concurrent_writers_on_the_real_server(server: ServerProcess) -> None:
    """Writes are serialized in-process: parallel upserts neither fail nor lose rows."""
    from concurrent.futures import ThreadPoolExecutor

    tenant, venue, event = f"conc-{new_id()[:8]}", new_id(), new_id()
    token = server.token(Role.ADMIN, tenant)
    with server.client(token) as http:
        assert http.post("/api/catalog/events", json=event_body(venue, id=event)).status_code == 201

    def push(worker: int) -> int:
        tickets = [{"id": f"{worker:02x}{i:06x}"} for i in range(500)]
        with server.client(token) as http:
            response = http.post(f"/api/catalog/events/{event}/tickets", json={"tickets": tickets})
            return response.status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(push, range(16))) == [200] * 16
    with server.client(token) as http:
        assert http.get(f"/api/catalog/events/{event}").json()["ticketSequence"] == 16
        seen = 0
        after = None
        while True:
            params = {"limit": 1000, **({"after": after} if after else {})}
            page = http.get(f"/api/catalog/events/{event}/tickets", params=params).json()
            seen += len(page["tickets"])
            after = page["next"]
            if after is None:
                break
    assert seen == 16 * 500
