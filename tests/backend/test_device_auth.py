"""Device tokens against a real server: the client's contract, revocation at once, 403 elsewhere."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanctl.client import DeviceAuth
from tests.backend.helpers import ServerProcess, new_id
from tests.backend.offline_kit import Gate, Venue, admin, make_venue, register_gate


@pytest.fixture(scope="module")
def venue(server: ServerProcess) -> Venue:
    return make_venue(server, "dev-auth")


@pytest.fixture
def gate(server: ServerProcess, venue: Venue) -> Gate:
    return register_gate(server, venue)


def _pull(server: ServerProcess, venue: Venue, token: str) -> int:
    with server.client(token) as http:
        return http.get(f"/api/offline/manifest/{venue.event}").status_code


def test_a_valid_device_token_pulls_its_manifest(
    server: ServerProcess, venue: Venue, gate: Gate
) -> None:
    assert _pull(server, venue, gate.token()) == 200
    # The client's DeviceAuth mints exactly the accepted format.
    auth = DeviceAuth(gate.device_id, gate.tenant, gate.venue, gate.keys.signing)
    with server.client(auth=auth) as http:
        assert http.get(f"/api/offline/manifest/{venue.event}").status_code == 200


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"now": time.time() - 400}, id="expired"),
        pytest.param({"now": time.time() + 400}, id="issued-in-the-future"),
        pytest.param({"private_key": Ed25519PrivateKey.generate()}, id="wrong-key"),
        pytest.param({"venue_id": new_id()}, id="other-venue"),
        pytest.param({"tenant_id": "other-tenant"}, id="other-tenant"),
        pytest.param({"device_id": new_id()}, id="unknown-device"),
    ],
)
def test_bad_device_tokens_get_401(
    server: ServerProcess, venue: Venue, gate: Gate, broken: dict[str, object]
) -> None:
    assert _pull(server, venue, gate.token(**broken)) == 401  # type: ignore[arg-type]


def _signed(gate: Gate, header: dict[str, str], **claims: object) -> str:
    now = int(time.time())
    body: dict[str, object] = {
        "sub": gate.device_id,
        "tenantId": gate.tenant,
        "venueId": gate.venue,
        "kind": "device",
        "aud": "scanctl",
        "iat": now,
        "exp": now + 300,
        "jti": "0" * 32,
    }
    body.update(claims)
    return jwt.encode(body, gate.keys.signing, algorithm="EdDSA", headers=header)


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        pytest.param({}, {"sub": "someone-else"}, id="sub-differs-from-kid"),
        pytest.param({}, {"kind": "person"}, id="not-kind-device"),
        pytest.param({}, {"aud": "elsewhere"}, id="wrong-audience"),
        pytest.param({}, {"exp": int(time.time()) + 3600}, id="lives-too-long"),
        pytest.param({"kid": "not-a-uuid"}, {}, id="kid-not-a-device-id"),
    ],
)
def test_tokens_off_the_contract_get_401(
    server: ServerProcess,
    venue: Venue,
    gate: Gate,
    header: dict[str, str],
    claims: dict[str, object],
) -> None:
    token = _signed(gate, {"kid": gate.device_id, **header}, **claims)
    assert _pull(server, venue, token) == 401
    assert _pull(server, venue, _signed(gate, {"kid": gate.device_id})) == 200


def test_a_revoked_device_gets_401_at_once(server: ServerProcess, venue: Venue, gate: Gate) -> None:
    token = gate.token()
    assert _pull(server, venue, token) == 200
    with admin(server, venue.tenant) as http:
        assert http.delete(f"/api/devices/{gate.device_id}").status_code == 200
    assert _pull(server, venue, token) == 401  # the very token that worked a moment ago
    with server.client(token) as http:
        response = http.post(
            "/api/offline/reconcile", json={"deviceId": gate.device_id, "scans": []}
        )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/devices"),
        ("GET", "/api/catalog/events"),
        ("DELETE", "/api/devices/{device}"),
        ("GET", "/api/policies/{event}"),
        ("GET", "/api/audit"),
    ],
)
def test_a_device_is_forbidden_everywhere_else(
    server: ServerProcess, venue: Venue, gate: Gate, method: str, path: str
) -> None:
    with gate.client(server) as http:
        url = path.format(device=gate.device_id, event=venue.event)
        assert http.request(method, url).status_code == 403


def test_a_device_acts_only_as_itself(server: ServerProcess, venue: Venue, gate: Gate) -> None:
    other = register_gate(server, venue)
    with gate.client(server) as http:
        pull = http.get(
            f"/api/offline/manifest/{venue.event}", params={"deviceId": other.device_id}
        )
        push = http.post("/api/offline/reconcile", json={"deviceId": other.device_id, "scans": []})
    assert pull.status_code == 403
    assert push.status_code == 403
