"""Authentication and authorization: principals, tokens, the role rules, FastAPI dependencies."""

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
