"""Door supervisors' overrides of an expired manifest's rule, reported by their gates.

A gate whose manifest has expired follows the event policy's ``stale_manifest`` unless a
supervisor overrode it on the box (`scanctl daemon override`). The gate uploads each
override once it reaches the backend again; each becomes one audit log entry
(``action = stale_manifest_override``, target the device, the override in ``detail``),
so venue managers see who let people in on expired data, when, and until when.
Idempotent on the override's id: a repeated upload writes nothing new.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from scanctl.backend import store
from scanctl.backend.api.deps import Db, responses
from scanctl.backend.api.offline import acting_device
from scanctl.backend.auth.dependencies import require
from scanctl.backend.auth.permissions import Permission
from scanctl.backend.auth.principal import Principal
from scanctl.backend.clock import datetime_to_ms

__all__ = ["OVERRIDE_ACTION", "router"]

OVERRIDE_ACTION = "stale_manifest_override"

router = APIRouter(prefix="/api/offline", tags=["offline"], responses=responses(400, 401))


class OverrideIn(BaseModel):
    """One override as the gate journaled it."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="ignore")

    id: UUID
    action: Literal["deny", "admit-with-warning"] | None
    """What the gate does with scans on its expired manifest; null ends an override."""
    until: AwareDatetime
    by: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """Who decided (the supervisor's name as typed on the box)."""
    at: AwareDatetime
    note: Annotated[str, StringConstraints(max_length=500)] = ""
    manifest_valid_until: AwareDatetime | None = None


class OverridesIn(BaseModel):
    """POST /api/offline/overrides."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="forbid")

    device_id: UUID
    overrides: Annotated[list[OverrideIn], Field(max_length=1000)]


class OverridesOut(BaseModel):
    """How many overrides were recorded now, and how many had been before."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True)

    recorded: int
    duplicate: int


Reporter = Annotated[Principal, Depends(require(Permission.RECONCILE))]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@router.post("/overrides", responses=responses(403, 404))
def report_overrides(body: OverridesIn, principal: Reporter, db: Db) -> OverridesOut:
    """Record a device's stale-manifest overrides in the audit log (once each)."""
    who = acting_device(principal, body.device_id)
    scope = principal.scope()
    recorded = duplicate = 0
    with db.write(scope) as conn:
        device = store.get_device(scope, conn, who)
        seen = store.audit_targets(scope, conn, action=OVERRIDE_ACTION, device_id=device.id)
        for item in body.overrides:
            if str(item.id) in seen:
                duplicate += 1
                continue
            seen.add(str(item.id))
            detail = {
                "action": item.action,
                "until": _iso(item.until),
                "by": item.by,
                "at": _iso(item.at),
                "note": item.note,
                "manifestValidUntil": _iso(item.manifest_valid_until),
            }
            store.record_audit(
                scope,
                conn,
                store.AuditEntry(
                    at_ms=datetime_to_ms(item.at),
                    actor=item.by,
                    actor_kind="supervisor",
                    actor_role=principal.role.value,
                    action=OVERRIDE_ACTION,
                    outcome="applied" if item.action is not None else "ended",
                    device_id=device.id,
                    target_kind="device",
                    target_id=str(item.id),
                    venue_id=device.venue_id,
                    detail=json.dumps(detail, separators=(",", ":")),
                ),
            )
            recorded += 1
    return OverridesOut(recorded=recorded, duplicate=duplicate)
