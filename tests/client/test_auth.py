"""Auth providers: a person's bearer token, and the device JWT contract checked with pyjwt."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanctl.client import (
    BearerToken,
    DeviceAuth,
    NotAuthorized,
    ScanctlClient,
    mint_device_token,
)
from tests.client.fake_backend import Answer, FakeBackend

DEVICE = "7d9f4a8e-2c1b-4f3e-9a6d-0e5b8c7a1f2d"
TENANT = "a1b2c3d4-0000-4000-8000-000000000001"
VENUE = "a1b2c3d4-0000-4000-8000-000000000002"


class WallClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def bearer_of(seen_headers: dict[str, str]) -> str:
    scheme, _, token = seen_headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def test_device_requests_carry_a_jwt_the_backend_can_verify(fake: FakeBackend, url: str) -> None:
    key = Ed25519PrivateKey.generate()
    clock = WallClock()
    auth = DeviceAuth(DEVICE, TENANT, VENUE, key, clock=clock)
    with ScanctlClient(url, auth) as backend:
        backend.scan("code", "event", DEVICE)
        backend.pull_manifest("event", device_id=DEVICE)
        clock.now += 269  # still more than 30 s left: reuse
        backend.reconcile(DEVICE, [])
        clock.now += 2  # 29 s left: mint a fresh one
        backend.scan("code", "event", DEVICE)

    tokens = [bearer_of(s.headers) for s in fake.seen()]
    assert tokens[0] == tokens[1] == tokens[2], "reused within its lifetime"
    assert tokens[3] != tokens[0], "fresh after ~30 s before expiry"

    header = jwt.get_unverified_header(tokens[0])
    assert header == {"alg": "EdDSA", "kid": DEVICE, "typ": "JWT"}
    claims = jwt.decode(
        tokens[0],
        key.public_key(),
        algorithms=["EdDSA"],
        audience="scanctl",
        options={"require": ["sub", "aud", "iat", "exp", "jti"]},
    )
    assert set(claims) == {"sub", "tenantId", "venueId", "kind", "aud", "iat", "exp", "jti"}
    assert claims["sub"] == DEVICE
    assert claims["tenantId"] == TENANT and claims["venueId"] == VENUE
    assert claims["kind"] == "device" and claims["aud"] == "scanctl"
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 5
    assert len(claims["jti"]) == 32 and int(claims["jti"], 16) >= 0

    fresh = jwt.decode(
        tokens[3], key.public_key(), algorithms=["EdDSA"], audience="scanctl", leeway=600
    )
    assert fresh["iat"] == int(clock.now)
    assert fresh["jti"] != claims["jti"]


def test_a_token_signed_by_another_key_does_not_verify() -> None:
    token = mint_device_token(
        device_id=DEVICE,
        tenant_id=TENANT,
        venue_id=VENUE,
        private_key=Ed25519PrivateKey.generate(),
        now=time.time(),
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            Ed25519PrivateKey.generate().public_key(),
            algorithms=["EdDSA"],
            audience="scanctl",
        )


def test_device_auth_takes_raw_key_bytes() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    auth = DeviceAuth(DEVICE, TENANT, VENUE, raw)
    claims = jwt.decode(auth.token(), key.public_key(), algorithms=["EdDSA"], audience="scanctl")
    assert claims["sub"] == DEVICE
    assert DEVICE in repr(auth)


def test_bearer_token_is_sent_and_never_shown(fake: FakeBackend, url: str) -> None:
    auth = BearerToken("s3cr3t-token")
    with ScanctlClient(url, auth) as backend:
        backend.health()
    assert bearer_of(fake.seen()[0].headers) == "s3cr3t-token"
    assert "s3cr3t" not in repr(auth)


@pytest.mark.parametrize("bad", ["", "a\r\nX-Injected: 1"])
def test_bearer_token_refuses_header_injection(bad: str) -> None:
    with pytest.raises(ValueError):
        BearerToken(bad)


def test_a_401_to_a_reused_token_is_retried_once_with_a_fresh_one(
    fake: FakeBackend, url: str
) -> None:
    clock = WallClock()
    auth = DeviceAuth(DEVICE, TENANT, VENUE, Ed25519PrivateKey.generate(), clock=clock)
    fake.script("POST /api/scan", Answer(401, {"detail": "token not yet valid"}))
    with ScanctlClient(url, auth) as backend:
        backend.health()  # mints and caches
        assert backend.scan("code", "event", DEVICE).allowed
    health, refused, accepted = (bearer_of(s.headers) for s in fake.seen())
    assert refused == health and accepted != refused


def test_a_401_to_a_fresh_token_is_final(fake: FakeBackend, url: str) -> None:
    auth = DeviceAuth(DEVICE, TENANT, VENUE, Ed25519PrivateKey.generate())
    fake.script("GET /health", Answer(401, {"detail": "device revoked"}))
    with ScanctlClient(url, auth) as backend, pytest.raises(NotAuthorized):
        backend.health()
    assert fake.count() == 1


def test_a_clock_set_back_mints_afresh() -> None:
    clock = WallClock()
    auth = DeviceAuth(DEVICE, TENANT, VENUE, Ed25519PrivateKey.generate(), clock=clock)
    first = auth.token()
    assert auth.token() == first
    clock.now -= 3600  # NTP corrected a clock that ran an hour ahead
    assert auth.token() != first
