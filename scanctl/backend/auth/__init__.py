"""Authentication and authorization: principals, tokens, the role rules, FastAPI dependencies.

Names are imported lazily: `scanctl token issue` needs the token functions, not FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanctl.backend.auth.dependencies import CurrentPrincipal, current_principal, require
    from scanctl.backend.auth.permissions import ROLE_PERMISSIONS, Permission, allowed
    from scanctl.backend.auth.principal import PERSON_ROLES, Principal, PrincipalKind, Role
    from scanctl.backend.auth.tokens import (
        AuthenticationError,
        Authenticator,
        DeviceTokenVerifier,
        PersonTokenVerifier,
        issue_person_token,
    )

__all__ = [
    "PERSON_ROLES",
    "ROLE_PERMISSIONS",
    "AuthenticationError",
    "Authenticator",
    "CurrentPrincipal",
    "DeviceTokenVerifier",
    "Permission",
    "PersonTokenVerifier",
    "Principal",
    "PrincipalKind",
    "Role",
    "allowed",
    "current_principal",
    "issue_person_token",
    "require",
]

_HOMES = {
    "CurrentPrincipal": "dependencies",
    "current_principal": "dependencies",
    "require": "dependencies",
    "ROLE_PERMISSIONS": "permissions",
    "Permission": "permissions",
    "allowed": "permissions",
    "PERSON_ROLES": "principal",
    "Principal": "principal",
    "PrincipalKind": "principal",
    "Role": "principal",
    "AuthenticationError": "tokens",
    "Authenticator": "tokens",
    "DeviceTokenVerifier": "tokens",
    "PersonTokenVerifier": "tokens",
    "issue_person_token": "tokens",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        module = importlib.import_module(f"scanctl.backend.auth.{_HOMES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
