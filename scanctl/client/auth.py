"""Credentials for the backend, as httpx auth providers: people's bearer tokens, devices' JWTs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanctl.client.device_token import DEVICE_TOKEN_LIFETIME, REFRESH_MARGIN, mint_device_token

__all__ = ["BearerToken", "DeviceAuth"]


class BearerToken(httpx.Auth):
    """A person's token (from `scanctl login`), sent as ``Authorization: Bearer …``."""

    def __init__(self, token: str) -> None:
        if not token or any(c in token for c in "\r\n"):
            raise ValueError("a bearer token must be a non-empty single line")
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"  # never put a token in a log line or traceback


class DeviceAuth(httpx.Auth):
    """A registered device: signs its own short-lived JWT (see `device_token` for the format).

    The token is minted on first use and reused until 30 s before it expires; then a
    fresh one is minted. It is minted afresh too when the clock went back past its
    ``iat`` (a gate box whose clock NTP just corrected), and once when the backend
    answers 401 to a reused token (the request was refused before it was processed,
    so sending it again is safe). ``ed25519_private_key`` is the key object or its 32
    raw bytes; ``clock`` gives wall-clock seconds since the epoch (tests freeze it).
    """

    def __init__(
        self,
        device_id: str,
        tenant_id: str,
        venue_id: str,
        ed25519_private_key: Ed25519PrivateKey | bytes,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(ed25519_private_key, bytes):
            ed25519_private_key = Ed25519PrivateKey.from_private_bytes(ed25519_private_key)
        self.device_id = device_id
        self.tenant_id = tenant_id
        self.venue_id = venue_id
        self._key = ed25519_private_key
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._issued_at = 0
        self._expires_at = 0

    def token(self) -> str:
        """The current token, minted afresh when none is cached or it is about to expire."""
        return self._current()[0]

    def _current(self, *, discard: str | None = None) -> tuple[str, bool]:
        """(token, whether it was minted just now); ``discard`` forgets that token first."""
        now = self._clock()
        with self._lock:
            if discard is not None and discard == self._token:
                self._token = None
            if (
                self._token is None
                or now >= self._expires_at - REFRESH_MARGIN
                or now < self._issued_at
            ):
                self._token = mint_device_token(
                    device_id=self.device_id,
                    tenant_id=self.tenant_id,
                    venue_id=self.venue_id,
                    private_key=self._key,
                    now=now,
                )
                self._issued_at = int(now)
                self._expires_at = self._issued_at + DEVICE_TOKEN_LIFETIME
                return self._token, True
            return self._token, False

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token, fresh = self._current()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            token, _ = self._current(discard=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def __repr__(self) -> str:
        return f"DeviceAuth(device_id={self.device_id!r})"
