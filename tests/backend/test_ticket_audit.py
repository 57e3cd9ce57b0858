"""Ticket status changes and transfers are in the audit log: who, when, from → to."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from scanctl.backend.auth import Role
from tests.backend.helpers import ServerProcess, new_id


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def test_refunds_cancellations_and_transfers_are_audited(server: ServerProcess) -> None:
    tenant = f"audit-{secrets.token_hex(3)}"
    venue = new_id()
    event = new_id()
    admin = server.client(server.token(Role.ADMIN, tenant))
    manager = server.client(
        server.token(Role.VENUE_MANAGER, tenant, venue, subject="box-office@venue")
    )
    with admin, manager:
        created = admin.post(
            "/api/catalog/events",
            json={
                "id": event,
                "venueId": venue,
                "name": "Audit night",
                "startsAt": _iso(timedelta(hours=1)),
                "endsAt": _iso(timedelta(hours=5)),
            },
        )
        assert created.status_code == 201, created.text

        def upsert(client: Any, *tickets: dict[str, Any]) -> None:
            response = client.post(
                f"/api/catalog/events/{event}/tickets", json={"tickets": list(tickets)}
            )
            assert response.status_code == 200, response.text

        upsert(admin, *({"id": f"{n:08x}"} for n in range(1, 5)))  # new: nothing to audit
        before = datetime.now(UTC) - timedelta(seconds=1)
        upsert(
            manager,
            {"id": "00000001", "status": "REFUNDED"},
            {"id": "00000002", "status": "CANCELLED"},
            {"id": "00000003", "status": "TRANSFERRED", "transferredTo": "0000000a"},
            {"id": "00000004", "zones": ["VIP"]},  # not a status change
        )
        upsert(manager, {"id": "00000001", "status": "REFUNDED"})  # the same again
        upsert(admin, {"id": "00000002"})  # active again (status defaults to ACTIVE)

        listed = admin.get("/api/audit", params={"limit": 1000})
        assert listed.status_code == 200, listed.text
        entries = [e for e in listed.json() if e["targetKind"] == "ticket"]
        seen = sorted(
            (e["targetId"], e["action"], e["actor"], json.loads(e["detail"])["from"], e["outcome"])
            for e in entries
        )
        assert seen == [
            ("00000001", "ticket.status", "box-office@venue", "ACTIVE", "REFUNDED"),
            ("00000002", "ticket.status", "admin@" + tenant, "CANCELLED", "ACTIVE"),
            ("00000002", "ticket.status", "box-office@venue", "ACTIVE", "CANCELLED"),
            ("00000003", "ticket.transfer", "box-office@venue", "ACTIVE", "TRANSFERRED"),
        ]
        for entry in entries:
            assert datetime.fromisoformat(entry["at"]) >= before
            assert entry["venueId"] == venue
            assert json.loads(entry["detail"])["event"] == event

        transfers = admin.get("/api/audit", params={"action": "ticket.transfer"}).json()
        assert [json.loads(t["detail"])["transferredTo"] for t in transfers] == ["0000000a"]
        about = manager.get("/api/audit", params={"targetId": "00000002"}).json()
        assert [e["outcome"] for e in about] == ["ACTIVE", "CANCELLED"]  # newest first
