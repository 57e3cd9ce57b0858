"""The audit log: who tried what, when, from which device, and what came of it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from scanctl.backend.db.schema import audit_log
from scanctl.backend.store.scope import Scope
from scanctl.backend.store.tickets import StatusChange
from scanctl.core import TicketStatus

__all__ = [
    "TICKET_STATUS_ACTION",
    "TICKET_TRANSFER_ACTION",
    "AuditActor",
    "AuditEntry",
    "AuditRecord",
    "audit_status_changes",
    "audit_targets",
    "list_audit",
    "record_audit",
]

TICKET_STATUS_ACTION = "ticket.status"
"""A ticket's status changed (refunded, cancelled, active again): ``from → to``."""
TICKET_TRANSFER_ACTION = "ticket.transfer"
"""A ticket was transferred (or transferred to another ticket than before)."""


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


@dataclass(frozen=True, slots=True)
class AuditActor:
    """Who made a change: a person or device (the principal), or a service."""

    name: str
    kind: str
    role: str
    device_id: str | None = None


def audit_status_changes(
    scope: Scope,
    conn: Connection,
    *,
    event_id: str,
    venue_id: str | None,
    changes: Sequence[StatusChange],
    actor: AuditActor,
    at_ms: int,
) -> None:
    """One audit entry per ticket whose status or transfer changed: who, when, from → to
    (``detail``: JSON with ``event``, ``from``, ``to`` and ``transferredTo``)."""
    if not changes:
        return
    rows = []
    for change in changes:
        transfer = change.after is TicketStatus.TRANSFERRED
        detail = {
            "event": event_id,
            "from": change.before.value,
            "to": change.after.value,
            "transferredTo": change.transferred_to,
        }
        entry = AuditEntry(
            at_ms=at_ms,
            actor=actor.name,
            actor_kind=actor.kind,
            actor_role=actor.role,
            action=TICKET_TRANSFER_ACTION if transfer else TICKET_STATUS_ACTION,
            outcome=change.after.value,
            device_id=actor.device_id,
            target_kind="ticket",
            target_id=change.ticket_id,
            venue_id=venue_id,
            detail=json.dumps(detail, separators=(",", ":")),
        )
        rows.append({"tenant_id": scope.tenant_id, **_fields(entry)})
    conn.execute(audit_log.insert(), rows)


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


def list_audit(
    scope: Scope,
    conn: Connection,
    *,
    limit: int = 100,
    action: str | None = None,
    target_id: str | None = None,
) -> list[AuditRecord]:
    """The newest entries of the scope (of one action, or about one target, when asked);
    venue-bound scopes see only entries of their venues (tenant-wide entries, with
    no venue, are for tenant-wide roles)."""
    query = select(audit_log).where(scope.tenant_filter(audit_log.c.tenant_id))
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if target_id is not None:
        query = query.where(audit_log.c.target_id == target_id)
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
