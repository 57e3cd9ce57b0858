"""`GET /api/conflicts`: an event's double entries, with their evidence.

Managers and admins of the event's venue see all of them; a device sees those that
involve one of its own scans (a gate asks after each upload, so every side of a
conflict hears of it). Computed from the stored scans each time (`core.conflicts`):
ids are stable, so a client can tell a conflict it knows from a new one. Printed
secrets and raw payloads never leave: only which code (a nonce) was reused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from scanctl.backend import store
from scanctl.backend.api.deps import Db, responses
from scanctl.backend.api.offline import default_policy
from scanctl.backend.auth.dependencies import require
from scanctl.backend.auth.permissions import Permission
from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.clock import datetime_to_ms, ms_to_datetime
from scanctl.backend.offline.conflicts import event_conflicts
from scanctl.backend.state import backend_state
from scanctl.core import Admission, Conflict

__all__ = ["ConflictAdmissionOut", "ConflictOut", "ConflictsOut", "router"]

router = APIRouter(tags=["offline"], responses=responses(400, 401))

ConflictReader = Annotated[Principal, Depends(require(Permission.READ_CONFLICTS))]


class _Out(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True
    )


class ConflictAdmissionOut(_Out):
    """One admission involved in a conflict."""

    scan_id: str
    device_id: str
    gate: str | None
    lane: str | None
    direction: str
    scanned_at: datetime
    decided_by: str
    first: bool
    """Whether this admission came first (the others are the double entries)."""


class ConflictOut(_Out):
    """A double entry of one ticket."""

    id: str
    """Stable: the same evidence always gives the same id (acknowledge by it)."""
    kind: str
    """same-code, same-printed-code, entry-without-exit or over-allowance."""
    event_id: str
    ticket_id: str
    detected_at: datetime
    """When the last of its admissions reached the backend."""
    first_scan_id: str
    admissions: list[ConflictAdmissionOut]


class ConflictsOut(_Out):
    """The conflicts, oldest known first."""

    conflicts: list[ConflictOut]


def _admission_out(admission: Admission, first: Admission) -> ConflictAdmissionOut:
    return ConflictAdmissionOut(
        scan_id=admission.scan_id,
        device_id=admission.device_id,
        gate=admission.gate,
        lane=admission.lane,
        direction=admission.direction.value,
        scanned_at=ms_to_datetime(admission.at_ms),
        decided_by=admission.decided_by,
        first=admission is first,
    )


def conflict_out(conflict: Conflict) -> ConflictOut:
    """The wire form of a conflict."""
    return ConflictOut(
        id=conflict.id,
        kind=conflict.kind.value,
        event_id=conflict.event_id,
        ticket_id=conflict.ticket_id,
        detected_at=ms_to_datetime(conflict.detected_at_ms),
        first_scan_id=conflict.first.scan_id,
        admissions=[_admission_out(a, conflict.first) for a in conflict.admissions],
    )


@router.get("/api/conflicts", response_model_exclude_none=False, responses=responses(403, 404))
def conflicts(
    request: Request,
    principal: ConflictReader,
    db: Db,
    event_id: Annotated[UUID, Query(alias="eventId")],
    since: Annotated[AwareDatetime | None, Query()] = None,
) -> ConflictsOut:
    """Double entries of an event of your venue: the same rotating code admitted twice
    (a screenshot), the same printed code twice, two entries without an exit (inside
    the duplicate window, or at all without re-entry), and admissions past the
    policy's allowance. ``since``: only those known (last admission stored) at or after
    it. A device sees only the conflicts that involve its own scans."""
    scope = principal.scope()
    device_id = principal.device_id if principal.kind is PrincipalKind.DEVICE else None
    default = default_policy(backend_state(request.app).settings)
    with db.read(scope) as conn:
        policy = store.get_policy(scope, conn, str(event_id), default=default).policy
        found = event_conflicts(
            scope,
            conn,
            str(event_id),
            policy,
            since_ms=None if since is None else datetime_to_ms(since),
            device_id=device_id,
        )
    return ConflictsOut(conflicts=[conflict_out(c) for c in found])
