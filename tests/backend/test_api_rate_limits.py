"""Every authenticated route has a documented rate limit; policy writes stop at 60 a minute."""

from __future__ import annotations

import secrets
from typing import Any

from scanctl.backend.api.limits import GROUPS
from scanctl.backend.auth import Role
from scanctl.core import POLICY_TEMPLATES
from tests.backend.helpers import ServerProcess, new_id


def _operations(server: ServerProcess) -> list[tuple[str, str, dict[str, Any]]]:
    with server.client() as http:
        document = http.get("/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_authenticated_route_documents_its_rate_limit(server: ServerProcess) -> None:
    operations = _operations(server)
    authenticated = [(m, p, op) for m, p, op in operations if op.get("security")]
    assert len(authenticated) >= 25  # every API route but health, ready and metrics
    unauthenticated = {p for m, p, op in operations if not op.get("security")}
    assert unauthenticated == {"/health", "/ready", "/metrics"}
    missing = [f"{m} {p}" for m, p, op in authenticated if "x-rate-limit" not in op]
    assert missing == []
    for method, path, op in authenticated:
        limit = op["x-rate-limit"]
        group = GROUPS[limit["group"]]
        assert limit["description"], (method, path)
        if limit["per"] == "caller":
            assert limit["requestsPerMinute"] > 0, (method, path)
            assert "429" in op["responses"], (method, path)
        else:
            assert group.own == limit["description"], (method, path)
    policy_writes = [
        op["x-rate-limit"]["requestsPerMinute"]
        for m, p, op in authenticated
        if "polic" in p and m != "GET"
    ]
    assert policy_writes and set(policy_writes) == {60}


def test_policy_writes_stop_at_60_a_minute_with_retry_after(server: ServerProcess) -> None:
    tenant = f"limits-{secrets.token_hex(3)}"
    venue = new_id()
    event = new_id()
    admin = server.client(server.token(Role.ADMIN, tenant))
    other = server.client(server.token(Role.ADMIN, tenant, subject="second-admin"))
    with admin, other:
        created = admin.post(
            "/api/catalog/events",
            json={
                "id": event,
                "venueId": venue,
                "name": "Limits night",
                "startsAt": "2030-06-01T18:00:00Z",
                "endsAt": "2030-06-01T23:00:00Z",
            },
        )
        assert created.status_code == 201, created.text
        body = POLICY_TEMPLATES["festival-reentry"].as_dict()
        statuses = [admin.put(f"/api/policies/{event}", json=body).status_code for _ in range(60)]
        assert statuses == [200] * 60
        refused = admin.put(f"/api/policies/{event}", json=body)
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "60 a minute" in refused.json()["detail"]
        # Templates are policy endpoints too; reads have their own, larger allowance.
        template = admin.put("/api/policy-templates/house", json=body)
        assert template.status_code == 429
        assert admin.get(f"/api/policies/{event}").status_code == 200
        # Per caller: another admin of the tenant is not held back.
        assert other.put(f"/api/policies/{event}", json=body).status_code == 200
