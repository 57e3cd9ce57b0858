"""`GET /api/qr/generate/{ticketId}`: a fresh rotating code for an attendee app.

Rate-limited per caller and ticket (`ratelimit.QR_PER_MINUTE`), 429 with Retry-After:
a code lives 30 s, so an honest app asks about twice a minute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool

from scanctl.backend.api.deps import responses
from scanctl.backend.auth.permissions import Permission
from scanctl.backend.auth.principal import Principal
from scanctl.backend.clock import ms_to_datetime
from scanctl.backend.scanning import ScanService
from scanctl.backend.scanning.auth import require_fast
from scanctl.backend.state import backend_state

__all__ = ["QrOut", "router"]

router = APIRouter(tags=["qr"], responses=responses(400, 401))

QrGenerator = Annotated[Principal, Depends(require_fast(Permission.GENERATE_QR))]


class QrOut(BaseModel):
    """A rotating token (``qrData``), valid until ``expiresAt``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    qr_data: str
    ticket_id: str
    event_id: str
    expires_at: datetime
    expires_in_seconds: int


@router.get("/api/qr/generate/{ticketId}", responses=responses(403, 404, 409, 429))
async def generate(
    principal: QrGenerator,
    request: Request,
    ticket_id: Annotated[str, Path(alias="ticketId", pattern=r"^[0-9a-f]{8}$")],
    event_id: Annotated[UUID | None, Query(alias="eventId")] = None,
) -> QrOut:
    """A fresh code for the ticket (name the event when the id exists in several)."""
    wait = backend_state(request.app).rate_limits.hit_qr(
        principal.tenant_id, principal.subject, ticket_id
    )
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail="too many codes for this ticket; retry later",
            headers={"Retry-After": str(wait)},
        )
    service: ScanService = backend_state(request.app).scans
    tenant = principal.tenant_id
    if event_id is not None:  # an upstream ticket is found by its event only
        await service.prepare_ticket(tenant, str(event_id), ticket_id)
    ticket = await run_in_threadpool(
        service.find_ticket, tenant, ticket_id, None if event_id is None else str(event_id)
    )
    event = await run_in_threadpool(service.event, tenant, ticket.event_id)
    if event is None or not principal.scope().covers(event.venue_id):
        await run_in_threadpool(
            backend_state(request.app).audit_denial,
            request,
            principal,
            "ticket",
            ticket_id,
            None if event is None else event.venue_id,
        )
        raise HTTPException(status_code=403, detail="not allowed for this venue")
    policy = await run_in_threadpool(service.policy, tenant, ticket.event_id)
    minted = service.mint(tenant, ticket, policy.qr_lifetime_seconds)
    return QrOut(
        qr_data=minted.token,
        ticket_id=minted.ticket_id,
        event_id=minted.event_id,
        expires_at=ms_to_datetime(minted.expires_at_ms),
        expires_in_seconds=minted.lifetime_s,
    )
