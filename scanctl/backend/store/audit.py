"""The audit log: who tried what, when, from which device, and what came of it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from scanctl.backend.db.schema import audit_log
from scanctl.backend.store.scope import Scope

__all__ = ["AuditEntry", "AuditRecord", "audit_targets", "list_audit", "record_audit"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing worth remembering about a request. ``actor`` is the principal's subject."""

    at_ms: int
    actor: str
    actor_kind: str
    actor_role: str
    action: str
    outcome: str
    device_id: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    venue_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored audit entry with its id."""

    id: int
    entry: AuditEntry


def record_audit(scope: Scope, conn: Connection, entry: AuditEntry) -> None:
    """Append an entry to the tenant's audit log."""
    conn.execute(audit_log.insert().values(tenant_id=scope.tenant_id, **_fields(entry)))


def audit_targets(scope: Scope, conn: Connection, *, action: str, device_id: str) -> set[str]:
    """The target ids of a device's entries of one action (to record each thing once)."""
    rows = conn.execute(
        select(audit_log.c.target_id).where(
            audit_log.c.tenant_id == scope.tenant_id,
            audit_log.c.action == action,
            audit_log.c.device_id == device_id,
        )
    )
    return {target for target in rows.scalars() if target is not None}


def _fields(entry: AuditEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in AuditEntry.__dataclass_fields__}


def list_audit(scope: Scope, conn: Connection, *, limit: int = 100) -> list[AuditRecord]:
    """The newest entries of the scope; venue-bound scopes see only entries of their
    venues (tenant-wide entries, with no venue, are for tenant-wide roles)."""
    query = select(audit_log).where(scope.tenant_filter(audit_log.c.tenant_id))
    if not scope.all_venues:
        query = query.where(scope.venue_filter(audit_log.c.venue_id))
    rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).all()
    records = []
    for row in rows:
        m = dict(row._mapping)
        records.append(AuditRecord(m.pop("id"), AuditEntry(**{k: m[k] for k in _fields_names()})))
    return records


def _fields_names() -> tuple[str, ...]:
    return tuple(AuditEntry.__dataclass_fields__)
