"""`GET /api/scans`: an event's recorded scans for managers, paged in the order they arrived.

Order: by ``recordedAt`` (when the scan reached the backend), then id — oldest first,
so a client that keeps the last ``next`` cursor and polls again sees every later scan,
offline uploads of long-ago scans included. ``since`` starts the listing at a moment.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, JsonValue
from pydantic.alias_generators import to_camel

from scanctl.backend.api.deps import AuditReader, Db, responses
from scanctl.backend.clock import datetime_to_ms, ms_to_datetime
from scanctl.backend.store.scans import ScanRecord, list_scans

__all__ = ["ScanRecordOut", "ScansOut", "router"]

router = APIRouter(tags=["scan"], responses=responses(400, 401))


class ScanRecordOut(BaseModel):
    """One recorded scan."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str
    event_id: str
    ticket_id: str | None
    device_id: str
    gate: str | None
    direction: str
    raw: str
    reason: str
    allowed: bool
    decided_by: str
    scanned_at: datetime
    recorded_at: datetime
    late: bool
    warning: str | None = None
    """Why the gate flagged the admission (admitted on an expired manifest), else null."""
    metadata: dict[str, JsonValue] | None = None
    """The ``metadata`` object the client sent with the scan, else null."""


class ScansOut(BaseModel):
    """A page of scans and the cursor of the next page (null: this was the last)."""

    scans: list[ScanRecordOut]
    next: str | None


def _out(record: ScanRecord) -> ScanRecordOut:
    return ScanRecordOut(
        id=record.id,
        event_id=record.event_id,
        ticket_id=record.ticket_id,
        device_id=record.device_id,
        gate=record.gate,
        direction=record.direction.value,
        raw=record.raw,
        reason=record.reason,
        allowed=record.allowed,
        decided_by=record.decided_by,
        scanned_at=ms_to_datetime(record.scanned_at_ms),
        recorded_at=ms_to_datetime(record.recorded_at_ms),
        late=record.late,
        warning=record.warning,
        metadata=None if record.client_metadata is None else json.loads(record.client_metadata),
    )


def _cursor(text: str) -> tuple[int, str]:
    at, _, scan_id = text.partition("_")
    return int(at), scan_id


@router.get("/api/scans", responses=responses(403, 404))
def scans(
    principal: AuditReader,
    db: Db,
    event_id: Annotated[UUID, Query(alias="eventId")],
    since: Annotated[AwareDatetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,15}_[0-9a-f-]{1,36}$")] = None,
) -> ScansOut:
    """Scans of an event of your venue, oldest recorded first; pass ``next`` as ``cursor``."""
    scope = principal.scope()
    after = None if cursor is None else _cursor(cursor)
    since_ms = None if since is None else datetime_to_ms(since)
    with db.read(scope) as conn:
        records = list_scans(
            scope, conn, str(event_id), since_ms=since_ms, after=after, limit=limit
        )
    following = None
    if len(records) == limit:
        following = f"{records[-1].recorded_at_ms}_{records[-1].id}"
    return ScansOut(scans=[_out(r) for r in records], next=following)
