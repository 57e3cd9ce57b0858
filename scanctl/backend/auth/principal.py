"""Who is calling: a person with a role, or a registered device."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scanctl.backend.store.scope import Scope

__all__ = ["PERSON_ROLES", "Principal", "PrincipalKind", "Role"]


class Role(StrEnum):
    """Roles of people tokens (DESIGN.md), plus DEVICE for device-signed tokens."""

    VENUE_STAFF = "VENUE_STAFF"
    VENUE_MANAGER = "VENUE_MANAGER"
    ADMIN = "ADMIN"
    SYSTEM = "SYSTEM"
    DEVICE = "DEVICE"


PERSON_ROLES = frozenset({Role.VENUE_STAFF, Role.VENUE_MANAGER, Role.ADMIN, Role.SYSTEM})


class PrincipalKind(StrEnum):
    """Whether the token came from the platform's auth service or from a device key."""

    PERSON = "person"
    DEVICE = "device"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``venue_id`` is None only for tenant-wide roles."""

    subject: str
    tenant_id: str
    role: Role
    venue_id: str | None
    kind: PrincipalKind = PrincipalKind.PERSON
    device_id: str | None = None

    @property
    def tenant_wide(self) -> bool:
        """Whether the principal acts on every venue of its tenant (ADMIN, SYSTEM)."""
        return self.role in (Role.ADMIN, Role.SYSTEM)

    def scope(self) -> Scope:
        """The data the principal may touch: its tenant, and its venue unless tenant-wide."""
        from scanctl.backend.store.scope import Scope  # SQLAlchemy only when data is touched

        if self.tenant_wide:
            return Scope.tenant_wide(self.tenant_id)
        # A venue-bound principal without a venue gets a scope of no venues, never all.
        return Scope.venues(self.tenant_id, *([self.venue_id] if self.venue_id else []))
