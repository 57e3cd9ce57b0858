"""The one place that says which role may do what. Routes ask `allowed()`; nothing else decides.

| permission        | STAFF | MANAGER | ADMIN | SYSTEM | DEVICE |
|-------------------|:-----:|:-------:|:-----:|:------:|:------:|
| read              |   x   |    x    |   x   |   x    |        |
| scan              |   x   |    x    |   x   |   x    |   x    |
| qr:generate       |       |         |   x   |   x    |        |
| devices:manage    |       |    x    |   x   |        |        |
| catalog:manage    |       |    x    |   x   |   x    |        |
| policies:manage   |       |    x    |   x   |        |        |
| templates:manage  |       |         |   x   |        |        |
| audit:read        |       |    x    |   x   |        |        |
| manifest:pull     |       |    x    |   x   |        |   x    |
| scans:reconcile   |       |         |   x   |        |   x    |
| conflicts:read    |       |    x    |   x   |        |   x    |

A manager or admin pulls a manifest only on behalf of a named device of its venue; the
event key inside is sealed to that device, so the person cannot use it. A device reads
only the conflicts that involve its own scans (the route filters).

Venue scoping is not a permission: staff, managers and devices act on their own venue,
ADMIN and SYSTEM on every venue of their tenant (see `Principal.scope`), never beyond.
"""

from __future__ import annotations

from enum import StrEnum

from scanctl.backend.auth.principal import Principal, Role

__all__ = ["ROLE_PERMISSIONS", "Permission", "allowed"]


class Permission(StrEnum):
    """Something a route lets a caller do."""

    READ = "read"
    SCAN = "scan"
    GENERATE_QR = "qr:generate"
    MANAGE_DEVICES = "devices:manage"
    MANAGE_CATALOG = "catalog:manage"
    MANAGE_POLICIES = "policies:manage"
    MANAGE_TEMPLATES = "templates:manage"
    READ_AUDIT = "audit:read"
    PULL_MANIFEST = "manifest:pull"
    RECONCILE = "scans:reconcile"
    READ_CONFLICTS = "conflicts:read"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VENUE_STAFF: frozenset({P.READ, P.SCAN}),
    Role.VENUE_MANAGER: frozenset(
        {
            P.READ,
            P.SCAN,
            P.MANAGE_DEVICES,
            P.MANAGE_CATALOG,
            P.MANAGE_POLICIES,
            P.READ_AUDIT,
            P.PULL_MANIFEST,
            P.READ_CONFLICTS,
        }
    ),
    Role.ADMIN: frozenset(Permission),
    Role.SYSTEM: frozenset({P.READ, P.SCAN, P.GENERATE_QR, P.MANAGE_CATALOG}),
    Role.DEVICE: frozenset({P.SCAN, P.PULL_MANIFEST, P.RECONCILE, P.READ_CONFLICTS}),
}


def allowed(principal: Principal, permission: Permission) -> bool:
    """Whether the principal's role grants the permission."""
    return permission in ROLE_PERMISSIONS.get(principal.role, frozenset())
