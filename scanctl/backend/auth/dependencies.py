"""FastAPI dependencies: `current_principal` (401) and `require(permission)` (403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from scanctl.backend.auth.permissions import Permission, allowed
from scanctl.backend.auth.principal import Principal
from scanctl.backend.auth.tokens import AuthenticationError, Authenticator
from scanctl.backend.state import backend_state

__all__ = ["CurrentPrincipal", "current_principal", "require"]

_bearer = HTTPBearer(auto_error=False, description="A people JWT (HS256) or a device JWT.")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller, or 401 with ``WWW-Authenticate: Bearer``."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status_code=401,
            detail="missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    authenticator: Authenticator = backend_state(request.app).authenticator
    try:
        principal = authenticator.authenticate(credentials.credentials)
    except AuthenticationError as exc:
        raise _unauthorized(str(exc)) from None
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""A route parameter typed with this gets the authenticated caller."""


def require(permission: Permission) -> Callable[..., object]:
    """A dependency: the caller, when its role grants ``permission``; 403 (audited) otherwise."""

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        if not allowed(principal, permission):
            audit = backend_state(request.app).audit_denial
            await run_in_threadpool(
                audit, request, principal, "role", permission.value, principal.venue_id
            )
            raise HTTPException(status_code=403, detail="not allowed for this role")
        return principal

    return dependency
