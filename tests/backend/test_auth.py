"""Bearer tokens: what gets a 401 (and how), against the real server and in-process."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from scanctl.backend.auth import (
    AuthenticationError,
    Authenticator,
    Permission,
    PersonTokenVerifier,
    Principal,
    PrincipalKind,
    Role,
    allowed,
    issue_person_token,
)
from scanctl.backend.store import Scope
from tests.backend.helpers import ServerProcess, fresh_secret, new_id

ROUTE = "/api/me"


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": "someone",
        "tenantId": "tenant-x",
        "role": "VENUE_STAFF",
        "venueId": new_id(),
        "exp": int(time.time()) + 600,
    }
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def _bad_tokens(secret: str) -> dict[str, str]:
    now = int(time.time())
    good = _claims()
    return {
        "expired": jwt.encode(_claims(exp=now - 3600), secret, algorithm="HS256"),
        "forged (other secret)": jwt.encode(good, fresh_secret(), algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(good)}.",
        "alg none, with signature": f"{_b64({'alg': 'none'})}.{_b64(good)}.{_b64(b'x')}",
        "HS512": jwt.encode(good, secret + secret, algorithm="HS512"),
        "no exp": jwt.encode(_claims(exp=None), secret, algorithm="HS256"),
        "no subject": jwt.encode(_claims(sub=None), secret, algorithm="HS256"),
        "no tenant": jwt.encode(_claims(tenantId=None), secret, algorithm="HS256"),
        "no role": jwt.encode(_claims(role=None), secret, algorithm="HS256"),
        "unknown role": jwt.encode(_claims(role="ROOT"), secret, algorithm="HS256"),
        "DEVICE role in a people token": jwt.encode(
            _claims(role="DEVICE"), secret, algorithm="HS256"
        ),
        "staff without venue": jwt.encode(_claims(venueId=None), secret, algorithm="HS256"),
        "venue not a uuid": jwt.encode(_claims(venueId="main-hall"), secret, algorithm="HS256"),
        "not yet valid": jwt.encode(_claims(nbf=now + 3600), secret, algorithm="HS256"),
        "garbage": "not-a-jwt",
        "truncated": jwt.encode(good, secret, algorithm="HS256")[:-10],
        "empty tenant": jwt.encode(_claims(tenantId=""), secret, algorithm="HS256"),
    }


def test_missing_token_is_401_with_challenge(server: ServerProcess) -> None:
    with server.client() as http:
        response = http.get(ROUTE)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_scheme_is_401(server: ServerProcess) -> None:
    with server.client(headers={"Authorization": "Basic dXNlcjpwYXNz"}) as http:
        assert http.get(ROUTE).status_code == 401


@pytest.mark.parametrize("case", list(_bad_tokens(fresh_secret())))
def test_bad_tokens_are_401(server: ServerProcess, case: str) -> None:
    token = _bad_tokens(server.jwt_secret)[case]
    with server.client(token) as http:
        response = http.get(ROUTE)
        also = http.get("/api/devices")
    assert response.status_code == 401, (case, response.text)
    assert also.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert server.jwt_secret not in response.text


def test_good_token_and_user_id_claim(server: ServerProcess) -> None:
    venue = new_id()
    token = jwt.encode(
        _claims(sub=None, userId="u-42", venueId=venue.upper()), server.jwt_secret, "HS256"
    )
    with server.client(token) as http:
        me = http.get(ROUTE).json()
    assert me == {
        "subject": "u-42",
        "tenantId": "tenant-x",
        "role": "VENUE_STAFF",
        "venueId": venue,
        "kind": "person",
    }


def test_small_leeway_on_expiry() -> None:
    secret = fresh_secret()
    verifier = PersonTokenVerifier(secret)
    token = jwt.encode(_claims(exp=int(time.time()) - 5), secret, algorithm="HS256")
    assert verifier.verify(token).subject == "someone"
    token = jwt.encode(_claims(exp=int(time.time()) - 60), secret, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="expired"):
        verifier.verify(token)


def test_device_tokens_are_refused_until_a_verifier_is_plugged_in() -> None:
    secret = fresh_secret()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    token = jwt.encode({"sub": "device", "exp": int(time.time()) + 60}, key, algorithm="EdDSA")
    with pytest.raises(AuthenticationError, match="algorithm"):
        Authenticator(PersonTokenVerifier(secret)).authenticate(token)

    class Devices:
        def verify(self, token: str) -> Principal:
            return Principal("d", "t", Role.DEVICE, new_id(), PrincipalKind.DEVICE, "d")

    principal = Authenticator(PersonTokenVerifier(secret), Devices()).authenticate(token)
    assert principal.kind is PrincipalKind.DEVICE


def test_issue_refuses_inconsistent_requests() -> None:
    with pytest.raises(ValueError, match="venue"):
        issue_person_token(
            fresh_secret(),
            subject="s",
            tenant_id="t",
            role=Role.VENUE_MANAGER,
            venue_id=None,
            ttl_seconds=60,
            now_s=0,
        )
    with pytest.raises(ValueError, match="not a role of people"):
        issue_person_token(
            fresh_secret(),
            subject="s",
            tenant_id="t",
            role=Role.DEVICE,
            venue_id=new_id(),
            ttl_seconds=60,
            now_s=0,
        )


def test_scopes_follow_roles() -> None:
    venue = new_id()
    staff = Principal("s", "t", Role.VENUE_STAFF, venue)
    admin = Principal("a", "t", Role.ADMIN, None)
    assert staff.scope() == Scope.venues("t", venue)
    assert admin.scope() == Scope.tenant_wide("t")
    assert Principal("x", "t", Role.VENUE_STAFF, None).scope() == Scope.venues("t")
    assert not Scope.venues("t").covers(venue)
    with pytest.raises(ValueError):
        Scope.tenant_wide("")


def test_permission_table() -> None:
    venue = new_id()

    def who(role: Role) -> Principal:
        return Principal("x", "t", role, venue)

    assert allowed(who(Role.VENUE_STAFF), Permission.READ)
    assert not allowed(who(Role.VENUE_STAFF), Permission.MANAGE_DEVICES)
    assert allowed(who(Role.VENUE_MANAGER), Permission.MANAGE_POLICIES)
    assert not allowed(who(Role.VENUE_MANAGER), Permission.MANAGE_TEMPLATES)
    assert all(allowed(who(Role.ADMIN), p) for p in Permission)
    assert not allowed(who(Role.SYSTEM), Permission.MANAGE_DEVICES)
    assert not allowed(who(Role.DEVICE), Permission.READ)
    assert allowed(who(Role.DEVICE), Permission.PULL_MANIFEST)
