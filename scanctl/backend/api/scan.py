"""`POST /api/scan`: decide a scan online. Every well-formed request gets a decision (200).

A thin adapter over `scanning.ScanPipeline` (the ASGI fast path, `api.scan_fast`, is the
other): it validates the body, authenticates the caller and maps a `ScanRefused` to its
HTTP error; everything else — lookups, venue check, rate limit, decision, recording —
is the pipeline's, so the two entry points can never answer one scan two ways.

Denials are values: the body says why (``reason``) with the facts that explain it
(`core.decision_to_wire`). HTTP errors are for requests that are not scans at all —
malformed bodies (422), callers who may not scan (401/403), unknown or revoked devices
(404/403), events not in the tenant (404), a lane zone that contradicts the device's
registered zone (422). A device of another venue than the event, or than the person
scanning with it, is a decision (UNAUTHORIZED_VENUE), recorded and audited.

Rate limit: reads per lane per minute come from the event's policy
(``scanner_rate_limit_per_minute``; a client that names no ``lane`` is one lane). Above
it the answer is still a recorded decision, RATE_LIMITED, with ``retryAfterSeconds`` and
a ``Retry-After`` header — a gate needs a reason to show, not a transport error, and the
attempt belongs in the scan log.

Scan ids: a gate names each read (``scanId``, a UUID it made when it read the code). The
id is an idempotency key of that device: the same read sent again — a retry, or an
answer that came too late — is answered with the decision stored the first time, and an
offline upload of it later is the same stored scan.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

from scanctl.backend.api.deps import responses
from scanctl.backend.api.errors import DEVICE_HEADER
from scanctl.backend.auth.permissions import Permission
from scanctl.backend.auth.principal import Principal
from scanctl.backend.scanning.auth import require_fast
from scanctl.backend.scanning.pipeline import ScanPipeline, ScanRefused, ScanRequest
from scanctl.backend.state import backend_state
from scanctl.core import PLACE_NAME_PATTERN, Direction, Reason

__all__ = ["MAX_METADATA_BYTES", "ScanIn", "ScanOut", "router", "scan_request"]

router = APIRouter(tags=["scan"], responses=responses(400, 401))

Scanner = Annotated[Principal, Depends(require_fast(Permission.SCAN))]

_MAX_RAW_INPUT = 4096
_NAME = PLACE_NAME_PATTERN
MAX_METADATA_BYTES = 2048
"""The largest ``metadata`` object a scan keeps, as compact JSON."""


def metadata_json(value: dict[str, JsonValue]) -> str:
    """The stored form of a scan's ``metadata``: compact, ASCII-only JSON."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _bounded(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    try:
        size = len(metadata_json(value))
    except ValueError:
        raise ValueError("numbers must be finite") from None
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"at most {MAX_METADATA_BYTES} bytes as compact JSON, not {size}")
    return value


Metadata = Annotated[dict[str, JsonValue], AfterValidator(_bounded)]


class ScanIn(BaseModel):
    """A scan to decide. The decision uses the server's clock, which scans of every gate
    share; ``timestamp`` (when the gate read the code) is the time the scan is stored
    under when it is recent (at most 5 minutes old, not in the future)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    qr_data: str = Field(max_length=_MAX_RAW_INPUT, description="The scanned payload.")
    event_id: UUID
    device_id: UUID
    timestamp: datetime | int | None = Field(
        default=None,
        description="When the gate read the code: RFC 3339 with a zone, or ms since the epoch.",
    )
    gate: str | None = Field(default=None, min_length=1, max_length=64, pattern=_NAME)
    direction: Direction = Direction.ENTRY
    zone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=_NAME,
        description=(
            "The zone the scanning lane guards. Without it the device's registered zone"
            " applies, then the policy's zone of the gate. A device registered to a zone"
            " scans only in that zone: another one here is refused (422)."
        ),
    )
    lane: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=_NAME,
        description="The scanner's name on its device: rate limits count reads per lane.",
    )
    scan_id: UUID | None = Field(
        default=None,
        description=(
            "The id the gate gave this read (made when it read the code): the same read"
            " sent again, or uploaded later by reconciliation, is one stored scan."
        ),
    )
    metadata: Metadata | None = Field(
        default=None,
        description=(
            "The client's own facts about the scan (the original service's field): any"
            f" JSON object of at most {MAX_METADATA_BYTES} bytes as compact JSON, kept with"
            " the scan and listed with it (GET /api/scans). It never changes the decision."
        ),
    )


class ScanOut(BaseModel):
    """A decision: ``allowed``, a stable ``reason`` code, a message to show, and facts."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    allowed: bool
    reason: Reason
    message: str
    ticket_id: str | None = None
    admitted_at: datetime | None = None
    admitted_gate: str | None = None
    transferred_to: str | None = None
    retry_after_seconds: int | None = None
    warning: str | None = None
    scan_id: str
    decided_at: datetime
    admitted_device: str | None = None
    """With ALREADY_SCANNED: the device of the ticket's first admission (``admittedAt``
    and ``admittedGate`` tell when and where)."""


def scan_request(
    body: ScanIn, principal: Principal, client_device: str | None = None
) -> ScanRequest:
    """The pipeline's request for a validated body."""
    timestamp = body.timestamp
    read_at_ms = _ms(timestamp) if isinstance(timestamp, datetime) else timestamp
    return ScanRequest(
        principal=principal,
        qr_data=body.qr_data,
        event_id=str(body.event_id),
        device_id=str(body.device_id),
        gate=body.gate,
        lane=body.lane,
        zone=body.zone,
        direction=body.direction,
        scan_id=None if body.scan_id is None else str(body.scan_id),
        read_at_ms=read_at_ms,
        client_device=client_device,
        metadata=None if body.metadata is None else metadata_json(body.metadata),
    )


def _ms(moment: datetime) -> int | None:
    if moment.tzinfo is None:
        return None  # a time without a zone says nothing certain: the server's is stored
    return int(moment.timestamp() * 1000)


@router.post("/api/scan", response_model=ScanOut, responses=responses(403, 404))
async def scan(body: ScanIn, principal: Scanner, request: Request) -> Response:
    """Decide one scan and record it (durably) before answering."""
    pipeline: ScanPipeline = backend_state(request.app).pipeline
    try:
        answer = await pipeline.scan(
            scan_request(body, principal, request.headers.get(DEVICE_HEADER))
        )
    except ScanRefused as refused:
        return Response(
            refused.body(),
            status_code=refused.status,
            media_type="application/json",
            headers=refused.headers,
        )
    return Response(answer.body, media_type="application/json", headers=answer.headers)
