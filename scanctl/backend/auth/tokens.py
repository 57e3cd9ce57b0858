"""Bearer tokens: people's HS256 JWTs (verify and mint), and the seam for device tokens.

People tokens come from the platform's auth service: HS256 with JWT_SECRET, claims
``sub`` (or ``userId``), ``tenantId``, ``role``, ``venueId`` (staff and managers) and
``exp`` (required). Any other algorithm — ``none`` included — is refused.

Device tokens (next issue) are EdDSA JWTs signed with the device's registered Ed25519
key. `Authenticator` routes a token by its header's ``alg``; plug a `DeviceTokenVerifier`
in to accept them. Until then they are refused like any unknown token.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from scanctl.backend.auth.principal import PERSON_ROLES, Principal, PrincipalKind, Role

__all__ = [
    "LEEWAY_SECONDS",
    "AuthenticationError",
    "Authenticator",
    "DeviceTokenVerifier",
    "PersonTokenVerifier",
    "issue_person_token",
]

LEEWAY_SECONDS = 10
"""Clock difference tolerated on ``exp``/``nbf``/``iat``."""

_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_MAX_SUBJECT = 200
_MAX_TOKEN_BYTES = 8192


class AuthenticationError(Exception):
    """The token is missing, malformed, expired, wrongly signed or lacks a claim (401)."""


class DeviceTokenVerifier(Protocol):
    """Verifies a device-signed (EdDSA) token and returns the device principal."""

    def verify(self, token: str) -> Principal:
        """The device principal, or AuthenticationError."""
        ...


@dataclass(frozen=True)
class PersonTokenVerifier:
    """HS256 tokens of people, signed with JWT_SECRET."""

    secret: str
    leeway_seconds: int = LEEWAY_SECONDS

    def verify(self, token: str) -> Principal:
        """The principal named by a valid token, or AuthenticationError."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                leeway=self.leeway_seconds,
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except jwt.InvalidTokenError:
            raise AuthenticationError("invalid token") from None
        return _principal_from(claims)


def _principal_from(claims: dict[str, Any]) -> Principal:
    subject = claims.get("sub", claims.get("userId"))
    if not isinstance(subject, str) or not 0 < len(subject) <= _MAX_SUBJECT:
        raise AuthenticationError("token has no subject (sub or userId)")
    tenant = claims.get("tenantId")
    if not isinstance(tenant, str) or not _TENANT_RE.match(tenant):
        raise AuthenticationError("token has no valid tenantId")
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise AuthenticationError("token has no valid role") from None
    if role not in PERSON_ROLES:
        raise AuthenticationError("token has no valid role")
    venue = claims.get("venueId")
    if venue is not None:
        try:
            venue = str(uuid.UUID(str(venue)))
        except ValueError:
            raise AuthenticationError("token venueId is not a UUID") from None
    if venue is None and role in (Role.VENUE_STAFF, Role.VENUE_MANAGER):
        raise AuthenticationError(f"a {role.value} token needs a venueId")
    return Principal(subject, tenant, role, venue, PrincipalKind.PERSON)


class Authenticator:
    """Turns a bearer token into a `Principal`, choosing the verifier by the token's header."""

    def __init__(
        self, people: PersonTokenVerifier, devices: DeviceTokenVerifier | None = None
    ) -> None:
        self.people = people
        self.devices = devices

    def authenticate(self, token: str) -> Principal:
        """The principal, or AuthenticationError."""
        if len(token) > _MAX_TOKEN_BYTES:
            raise AuthenticationError("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthenticationError("malformed token") from None
        alg = header.get("alg")
        if alg == "HS256":
            return self.people.verify(token)
        if alg == "EdDSA" and self.devices is not None:
            return self.devices.verify(token)
        raise AuthenticationError("token algorithm not accepted")


def issue_person_token(
    secret: str,
    *,
    subject: str,
    tenant_id: str,
    role: Role,
    venue_id: str | None,
    ttl_seconds: int,
    now_s: int,
) -> str:
    """An HS256 token like the platform's auth service issues (for bootstrap and tests)."""
    if role not in PERSON_ROLES:
        raise ValueError(f"{role.value} is not a role of people")
    if venue_id is None and role in (Role.VENUE_STAFF, Role.VENUE_MANAGER):
        raise ValueError(f"a {role.value} token needs a venue")
    claims: dict[str, Any] = {
        "sub": subject,
        "tenantId": tenant_id,
        "role": role.value,
        "iat": now_s,
        "exp": now_s + ttl_seconds,
    }
    if venue_id is not None:
        claims["venueId"] = venue_id
    return jwt.encode(claims, secret, algorithm="HS256")
