"""Device tokens: EdDSA JWTs a registered device signs with its own Ed25519 key.

The contract is `scanctl.client.device_token` (the client mints exactly that): header
``alg=EdDSA`` and ``kid=<device id>``; claims ``sub == kid``, ``kind == "device"``,
``aud == "scanctl"``, ``tenantId``/``venueId`` of the registration, ``iat``/``exp`` at
most DEVICE_TOKEN_LIFETIME apart. The device's status is read on every request, so a
revoked device gets 401 at once; only the parsed public keys are cached (by their
registered text, so a changed key is never served from the cache).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from scanctl.backend.auth.principal import Principal, PrincipalKind, Role
from scanctl.backend.auth.tokens import AuthenticationError
from scanctl.backend.db.engine import Database
from scanctl.backend.db.schema import devices
from scanctl.backend.store.scope import Scope
from scanctl.manifests.errors import KeyMaterialError
from scanctl.manifests.signing import load_public_key

__all__ = ["DEVICE_TOKEN_LIFETIME", "SKEW_SECONDS", "DeviceTokens"]

DEVICE_TOKEN_LIFETIME = 300
"""Seconds a device token may span from iat to exp (the client's DEVICE_TOKEN_LIFETIME)."""

SKEW_SECONDS = 30
"""Clock difference tolerated between a gate box and the backend."""

_KEY_CACHE_SIZE = 4096
_REFUSED = "invalid device token"
"""The one answer for every refusal that comes before the device's key is proven."""

log = logging.getLogger(__name__)
_TENANT_MAX = 64


class DeviceTokens:
    """Verifies device tokens against the devices table (the `DeviceTokenVerifier` seam)."""

    def __init__(
        self,
        db: Database,
        *,
        clock_s: Callable[[], float] = time.time,
        skew_seconds: int = SKEW_SECONDS,
    ) -> None:
        self._db = db
        self._clock_s = clock_s
        self._skew = skew_seconds
        self._keys: OrderedDict[str, Ed25519PublicKey] = OrderedDict()
        self._lock = Lock()

    def verify(self, token: str) -> Principal:
        """The device principal, or AuthenticationError (401) saying briefly why."""
        try:
            header = jwt.get_unverified_header(token)
            unverified: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise AuthenticationError("malformed device token") from None
        kid = header.get("kid")
        tenant = unverified.get("tenantId")
        if not isinstance(kid, str) or not _is_uuid(kid):
            raise AuthenticationError("device token has no device id (kid)")
        if not isinstance(tenant, str) or not 0 < len(tenant) <= _TENANT_MAX:
            raise AuthenticationError("device token has no tenantId")
        with self._db.read(Scope.tenant_wide(tenant)) as conn:
            row = conn.execute(
                select(devices.c.venue_id, devices.c.status, devices.c.signing_public_key).where(
                    devices.c.tenant_id == tenant, devices.c.id == kid
                )
            ).first()
        # One answer for an unknown device, one without a key and a bad signature: who
        # does not hold the device's key learns nothing about which device ids exist.
        if row is None or row.signing_public_key is None:
            log.info("device token refused: unknown device %s", kid)
            raise AuthenticationError(_REFUSED)
        claims = self._decode(token, self._public_key(row.signing_public_key))
        if row.status != "ACTIVE":
            raise AuthenticationError("device is revoked")  # told only to the key's holder
        if claims.get("sub") != kid:
            raise AuthenticationError("device token sub does not match its kid")
        if claims.get("kind") != "device":
            raise AuthenticationError("not a device token")
        if claims.get("venueId") != row.venue_id:
            raise AuthenticationError("device token venueId does not match the registration")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            raise AuthenticationError("device token needs integer iat and exp")
        if exp - iat > DEVICE_TOKEN_LIFETIME + self._skew:
            raise AuthenticationError("device token lives longer than allowed")
        return Principal(
            subject=f"device:{kid}",
            tenant_id=tenant,
            role=Role.DEVICE,
            venue_id=row.venue_id,
            kind=PrincipalKind.DEVICE,
            device_id=kid,
        )

    def _decode(self, token: str, key: Ed25519PublicKey) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                audience="scanctl",
                # Times are checked below against the injected clock, not PyJWT's.
                options={
                    "require": ["exp", "iat", "sub", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError:
            raise AuthenticationError(_REFUSED) from None
        now = self._clock_s()
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if isinstance(exp, int) and exp + self._skew < now:
            raise AuthenticationError("device token expired")
        if isinstance(iat, int) and iat - self._skew > now:
            raise AuthenticationError("device token issued in the future")
        if nbf is not None and (not isinstance(nbf, int) or isinstance(nbf, bool)):
            raise AuthenticationError("device token nbf is not an integer")
        if nbf is not None and nbf - self._skew > now:
            raise AuthenticationError("device token not valid yet (nbf)")
        return claims

    def _public_key(self, text: str) -> Ed25519PublicKey:
        with self._lock:
            key = self._keys.get(text)
            if key is not None:
                self._keys.move_to_end(text)
                return key
        try:
            key = load_public_key(text)
        except KeyMaterialError:
            log.warning("a registered device has no usable signing key")
            raise AuthenticationError(_REFUSED) from None
        with self._lock:
            self._keys[text] = key
            while len(self._keys) > _KEY_CACHE_SIZE:
                self._keys.popitem(last=False)
        return key


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
