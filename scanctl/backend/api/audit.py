"""The audit log and the caller's own identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from scanctl.backend import store
from scanctl.backend.api.deps import AuditReader, Db, responses
from scanctl.backend.api.models import AuditOut, MeOut
from scanctl.backend.auth.dependencies import CurrentPrincipal
from scanctl.backend.clock import ms_to_datetime

__all__ = ["router"]

router = APIRouter(tags=["audit"], responses=responses(400, 401))


@router.get("/api/audit", responses=responses(403))
def list_audit(
    principal: AuditReader,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only entries of this action, e.g. ticket.status or ticket.transfer.",
        ),
    ] = None,
    target_id: Annotated[
        str | None,
        Query(alias="targetId", max_length=64, description="Only entries about this object."),
    ] = None,
) -> list[AuditOut]:
    """Newest audit entries of your tenant (of your venue for managers).

    Ticket status changes and transfers are here: ``ticket.status`` and ``ticket.transfer``
    entries name who changed the ticket (``actor``), when (``at``), the new status
    (``outcome``) and, in ``detail``, the event, ``from``, ``to`` and ``transferredTo``.
    """
    scope = principal.scope()
    with db.read(scope) as conn:
        records = store.list_audit(scope, conn, limit=limit, action=action, target_id=target_id)
    return [
        AuditOut(
            id=r.id,
            at=ms_to_datetime(r.entry.at_ms),
            actor=r.entry.actor,
            actor_kind=r.entry.actor_kind,
            actor_role=r.entry.actor_role,
            device_id=r.entry.device_id,
            action=r.entry.action,
            outcome=r.entry.outcome,
            target_kind=r.entry.target_kind,
            target_id=r.entry.target_id,
            venue_id=r.entry.venue_id,
            detail=r.entry.detail,
        )
        for r in records
    ]


@router.get("/api/me")
async def me(principal: CurrentPrincipal) -> MeOut:
    """Who the backend thinks you are (checks a token)."""
    return MeOut(
        subject=principal.subject,
        tenant_id=principal.tenant_id,
        role=principal.role.value,
        venue_id=principal.venue_id,
        kind=principal.kind.value,
    )
