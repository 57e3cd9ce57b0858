"""Mint the short-lived JWT a registered device authenticates with (Ed25519-signed).

The format is a contract: the backend verifies it with the Ed25519 public key the
device registered, and must accept exactly this.

Header::

    {"alg": "EdDSA", "kid": "<device id>", "typ": "JWT"}

Claims::

    sub       "<device id>"           (same as the header's kid)
    tenantId  "<tenant id>"
    venueId   "<venue id>"
    kind      "device"                (people's tokens never carry kind=device)
    aud       "scanctl"
    iat       issued at, integer seconds since the Unix epoch (device clock)
    exp       iat + 300               (DEVICE_TOKEN_LIFETIME)
    jti       32 lowercase hex chars, random per token

Signature: EdDSA over Ed25519 (RFC 8037), compact JWS serialisation, base64url
without padding. Sent as ``Authorization: Bearer <token>``.

Lifetime: a device mints a token and reuses it for every request until
``REFRESH_MARGIN`` (30 s) before ``exp``, then mints a fresh one (new iat, exp, jti).
It also mints afresh, and sends the request once more, when the backend answers 401
to a reused token. So ``jti`` names a token (for logs and deny-lists); it is not
single-use, and the backend must accept the same token on many requests.

The backend should allow a little clock skew on iat/exp, look the device up by
``kid``, refuse revoked devices, and check that ``sub == kid``, ``kind == "device"``,
``aud == "scanctl"`` and that tenantId/venueId match the registration.
"""

from __future__ import annotations

import secrets

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "AUDIENCE",
    "DEVICE_TOKEN_LIFETIME",
    "REFRESH_MARGIN",
    "mint_device_token",
]

DEVICE_TOKEN_LIFETIME = 300
"""Seconds from iat to exp."""

REFRESH_MARGIN = 30
"""A cached token is replaced this many seconds before it expires."""

AUDIENCE = "scanctl"


def mint_device_token(
    *,
    device_id: str,
    tenant_id: str,
    venue_id: str,
    private_key: Ed25519PrivateKey,
    now: float,
    jti: str | None = None,
) -> str:
    """A signed device JWT issued at ``now`` (seconds since the epoch)."""
    iat = int(now)
    claims = {
        "sub": device_id,
        "tenantId": tenant_id,
        "venueId": venue_id,
        "kind": "device",
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat + DEVICE_TOKEN_LIFETIME,
        "jti": jti if jti is not None else secrets.token_hex(16),
    }
    return jwt.encode(
        claims, private_key, algorithm="EdDSA", headers={"kid": device_id, "typ": "JWT"}
    )
