"""`POST /api/upstream/changes`: the ticket and event services say what changed (a webhook).

The named tickets (or, without ``ticketIds``, the event and all its tickets) are asked
for again before their next use, instead of when their TTL runs out. The old values stay
as the fallback while the services are down. The webhook reaches one instance behind the
load balancer; with Redis it tells the others through `sharedstate.InvalidationBus`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from anyio.from_thread import run as run_in_loop
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from scanctl.backend.api.deps import CatalogManager, responses
from scanctl.backend.scanning import ScanService
from scanctl.backend.sharedstate import SharedState
from scanctl.backend.state import backend_state

__all__ = ["ChangesIn", "ChangesOut", "copy_tickets", "ensure_event", "router"]

router = APIRouter(tags=["upstream"], responses=responses(400, 401, 403))


class ChangesIn(BaseModel):
    """What changed upstream: an event, and which of its tickets (all of them when omitted)."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")

    event_id: UUID
    ticket_ids: (
        Annotated[
            list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")]],
            Field(max_length=10_000),
        ]
        | None
    ) = None


class ChangesOut(BaseModel):
    """How many cached entries will be fetched again."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True)

    expired: int


def ensure_event(request: Request, tenant_id: str, event_id: str) -> None:
    """Before a sync route (in a worker thread) writes local data that refers to an event:
    fetch it from the event service, which copies it locally. UpstreamUnavailable: 503."""
    service: ScanService = backend_state(request.app).scans
    upstream = service.upstream
    if upstream is not None and upstream.serves(tenant_id):
        run_in_loop(upstream.ensure_event, tenant_id, event_id)


def copy_tickets(request: Request, tenant_id: str, event_id: str) -> None:
    """Before a manifest is built (in a worker thread): copy the event's upstream ticket
    list into the local catalog. A failing service leaves the last copy in place."""
    service: ScanService = backend_state(request.app).scans
    upstream = service.upstream
    if upstream is not None and upstream.serves(tenant_id):
        run_in_loop(upstream.ensure_event, tenant_id, event_id)
        run_in_loop(upstream.sync_tickets, tenant_id, event_id)


@router.post(
    "/api/upstream/changes",
    responses={409: {"description": "This backend does not use upstream services"}},
)
def changes(body: ChangesIn, principal: CatalogManager, request: Request) -> ChangesOut:
    """Expire the cached copies of what the ticket or event service changed.

    With Redis (REDIS_URL) every instance expires them: this one at once, the others as
    soon as the message reaches them (a round trip). Without Redis only this instance
    does; the others ask again when their copies' TTL runs out (tickets 5 min, events
    15 min). ``expired`` counts this instance's entries.
    """
    service: ScanService = backend_state(request.app).scans
    upstream = service.upstream
    if upstream is None or not upstream.serves(principal.tenant_id):
        raise HTTPException(status_code=409, detail="this tenant's catalog is not upstream")
    event_id = str(body.event_id)
    expired = upstream.invalidate(principal.tenant_id, event_id, body.ticket_ids)
    shared: SharedState | None = backend_state(request.app).shared
    if shared is not None:
        shared.invalidated("upstream", principal.tenant_id, event_id, body.ticket_ids)
    return ChangesOut(expired=expired)
