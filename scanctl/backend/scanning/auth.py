"""Authentication for the scan hot path: the usual checks, with verified tokens cached.

`current_principal` is a sync dependency (device tokens read the devices table), so
FastAPI runs it in the thread pool: a hop that costs more than the scan itself. Here a
token that verified once is remembered until it expires, at most `_TTL_MS`:

- people tokens (HS256, pure CPU), used by the route and the fast path alike;
- device tokens, when `remember_devices` (a process that hears of every revocation at
  once: one SQLite instance, or instances that share Redis). Only the fast path uses
  those, and only while the scan path's device cache says the device is active — a
  revoked device's next request goes through the route, which reads its status from
  the database and answers 401, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from scanctl.backend.auth.permissions import Permission, allowed
from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.auth.tokens import AuthenticationError, Authenticator
from scanctl.backend.state import backend_state

__all__ = ["TokenCache", "require_fast"]

_TTL_MS = 30_000
# Same description as auth.dependencies: one security scheme in the OpenAPI document.
_bearer = HTTPBearer(auto_error=False, description="A people JWT (HS256) or a device JWT.")
_MAX_ENTRIES = 10_000


class TokenCache:
    """Verified tokens → (principal, valid-until ms). Bounded, least recent out."""

    def __init__(self, *, remember_devices: bool = False) -> None:
        self.remember_devices = remember_devices
        self._data: OrderedDict[str, tuple[Principal, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, now_ms: int) -> Principal | None:
        entry = self._data.get(token)
        if entry is None or entry[1] <= now_ms:
            return None
        return entry[0]

    def put(self, token: str, principal: Principal, now_ms: int) -> None:
        try:
            exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
        except jwt.InvalidTokenError:
            return
        if not isinstance(exp, int | float):
            return
        until = min(now_ms + _TTL_MS, int(exp * 1000))
        with self._lock:
            self._data[token] = (principal, until)
            while len(self._data) > _MAX_ENTRIES:
                self._data.popitem(last=False)


def _unauthorized(detail: str, error: bool = True) -> HTTPException:
    value = 'Bearer error="invalid_token"' if error else "Bearer"
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": value})


def require_fast(permission: Permission) -> object:
    """Like `auth.require(permission)`, as an async dependency with the token cache."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorized("missing bearer token", error=False)
        token = credentials.credentials
        state = backend_state(request.app)
        now_ms: int = state.clock()
        cache: TokenCache = state.tokens
        principal = cache.get(token, now_ms)
        if principal is not None and principal.kind is PrincipalKind.DEVICE:
            principal = None  # the route reads the device's status on every request
        if principal is None:
            authenticator: Authenticator = state.authenticator
            try:
                if token.count(".") == 2 and _is_hs256(token):
                    principal = authenticator.authenticate(token)
                    cache.put(token, principal, now_ms)
                else:
                    principal = await run_in_threadpool(authenticator.authenticate, token)
                    if cache.remember_devices:  # for the fast path (see the docstring)
                        cache.put(token, principal, now_ms)
            except AuthenticationError as exc:
                raise _unauthorized(str(exc)) from None
        request.state.principal = principal
        if not allowed(principal, permission):
            await run_in_threadpool(
                state.audit_denial, request, principal, "role", permission.value, principal.venue_id
            )
            raise HTTPException(status_code=403, detail="not allowed for this role")
        return principal

    return dependency


def _is_hs256(token: str) -> bool:
    try:
        return bool(jwt.get_unverified_header(token).get("alg") == "HS256")
    except jwt.InvalidTokenError:
        return False
