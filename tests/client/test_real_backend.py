"""The client against the real backend app (in-process uvicorn, temp SQLite): the contract.

The fake server pins down retries, deadlines and the breaker; this file checks that
the routes, bodies and error shapes the client assumes are the ones the backend serves.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role, issue_person_token
from scanctl.backend.settings import load_settings
from scanctl.client import (
    BadRequest,
    BearerToken,
    Forbidden,
    NotAuthorized,
    NotFound,
    ScanctlClient,
)
from scanctl.manifests import ManifestSigner
from tests.client.fake_backend import ServerThread


@dataclass(frozen=True)
class Backend:
    url: str
    jwt_secret: str

    def token(self, role: Role, venue: str | None = None, tenant: str = "t1") -> BearerToken:
        return BearerToken(
            issue_person_token(
                self.jwt_secret,
                subject=f"{role.value.lower()}@{tenant}",
                tenant_id=tenant,
                role=role,
                venue_id=venue,
                ttl_seconds=600,
                now_s=int(time.time()),
            )
        )


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    data_dir: Path = tmp_path_factory.mktemp("real-backend")
    jwt_secret = secrets.token_urlsafe(48)
    settings = load_settings(
        environ={
            "HMAC_SECRET": secrets.token_urlsafe(48),
            "JWT_SECRET": jwt_secret,
            "MANIFEST_SIGNING_KEY": ManifestSigner.generate().private_key_b64(),
            "SCANCTL_DATA_DIR": str(data_dir),
            "LOG_LEVEL": "warning",
        }
    )
    server = ServerThread(create_app(settings), lifespan="on")
    server.start()
    try:
        yield Backend(server.url, jwt_secret)
    finally:
        server.stop()


def test_health_and_auth(backend: Backend) -> None:
    with ScanctlClient(backend.url) as anonymous:
        assert anonymous.health()["status"] == "ok"
        assert anonymous.ready() is True
        with pytest.raises(NotAuthorized):
            anonymous.list_devices()


def test_catalog_policies_and_devices_round_trip(backend: Backend) -> None:
    venue, event = str(uuid.uuid4()), str(uuid.uuid4())
    with ScanctlClient(backend.url, backend.token(Role.ADMIN)) as admin:
        body = {
            "id": event,
            "venueId": venue,
            "name": "Gig",
            "startsAt": "2026-12-01T19:00:00Z",
            "endsAt": "2026-12-01T23:00:00Z",
        }
        assert admin.create_event(body)["id"] == event
        assert admin.create_event(body)["name"] == "Gig"  # an upsert: safe to repeat
        first = admin.upsert_tickets(event, [{"id": "0badcafe"}, {"id": "0000beef"}])
        again = admin.upsert_tickets(event, [{"id": "0badcafe"}, {"id": "0000beef"}])
        assert (first["created"], again["unchanged"]) == (2, 2)
        assert [t["id"] for t in admin.list_tickets(event)["tickets"]] == ["0000beef", "0badcafe"]
        assert admin.get_event(event)["venueId"] == venue
        assert event in [e["id"] for e in admin.list_events(venue_id=venue)]

        assert admin.get_policy(event)["isDefault"] is True
        updated = admin.put_policy(event, {"duplicate_window_seconds": 300})
        assert updated["policy"]["duplicate_window_seconds"] == 300
        with pytest.raises(BadRequest) as bad:
            admin.put_policy(event, {"duplicate_window_secs": 300})
        assert bad.value.status == 422
        assert any("duplicate_window_secs" in f.field for f in bad.value.field_errors)
        assert "standard" in [t["name"] for t in admin.policy_templates()]
        assert admin.get_policy_template("standard")["builtIn"] is True

        key = Ed25519PrivateKey.generate().public_key()
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        device_id = str(uuid.uuid4())
        registered = admin.register_device(
            {
                "deviceId": device_id,
                "name": "north-1",
                "type": "SCANNER_GUN",
                "venueId": venue,
                "signingPublicKey": base64.b64encode(raw).decode(),
            }
        )
        assert registered["deviceId"] == device_id and registered["status"] == "ACTIVE"
        assert device_id in [d["deviceId"] for d in admin.list_devices()]
        assert admin.get_device(device_id)["name"] == "north-1"
        assert admin.revoke_device(device_id)["status"] == "REVOKED"

        with pytest.raises(NotFound):
            admin.get_event(str(uuid.uuid4()))

    staff = ScanctlClient(backend.url, backend.token(Role.VENUE_STAFF, str(uuid.uuid4())))
    with staff, pytest.raises(Forbidden) as forbidden:
        staff.get_event(event)
    assert forbidden.value.message == "not allowed for this venue"
