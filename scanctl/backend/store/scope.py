"""`Scope`: the tenant and venues a data-access call may touch. Every store function takes one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, true
from sqlalchemy.sql.elements import ColumnClause

from scanctl.backend.errors import OutOfVenue

__all__ = ["Scope"]


@dataclass(frozen=True, slots=True)
class Scope:
    """A tenant, and either all of its venues (``venue_ids is None``) or only some.

    Built from the authenticated principal (`scanctl.backend.auth`), never from a
    request body. There is no scope without a tenant, and no "all tenants" scope.
    """

    tenant_id: str
    venue_ids: frozenset[str] | None

    def __post_init__(self) -> None:
        if not self.tenant_id:
            raise ValueError("a scope needs a tenant")

    @classmethod
    def tenant_wide(cls, tenant_id: str) -> Scope:
        """Every venue of the tenant (admins, system callers)."""
        return cls(tenant_id, None)

    @classmethod
    def venues(cls, tenant_id: str, *venue_ids: str) -> Scope:
        """Only the given venues of the tenant (staff, managers, devices)."""
        return cls(tenant_id, frozenset(venue_ids))

    @property
    def all_venues(self) -> bool:
        """Whether this scope covers every venue of its tenant."""
        return self.venue_ids is None

    def covers(self, venue_id: str) -> bool:
        """Whether a venue of this tenant is inside the scope."""
        return self.venue_ids is None or venue_id in self.venue_ids

    def require_venue(self, kind: str, object_id: str, venue_id: str) -> None:
        """Raise `OutOfVenue` when the venue is outside the scope."""
        if not self.covers(venue_id):
            raise OutOfVenue(kind, object_id, venue_id)

    def tenant_filter(self, tenant_column: ColumnClause[str]) -> ColumnElement[bool]:
        """`tenant_id = :tenant` for a table's tenant column."""
        return tenant_column == self.tenant_id

    def venue_filter(self, venue_column: ColumnClause[str]) -> ColumnElement[bool]:
        """The venue restriction for a venue column (always true for tenant-wide scopes)."""
        if self.venue_ids is None:
            return true()
        return venue_column.in_(sorted(self.venue_ids))

    def where(
        self, tenant_column: ColumnClause[str], venue_column: ColumnClause[str] | None = None
    ) -> ColumnElement[bool]:
        """Tenant and (when the table has one) venue filter in one clause."""
        clause = self.tenant_filter(tenant_column)
        if venue_column is not None:
            clause = and_(clause, self.venue_filter(venue_column))
        return clause
