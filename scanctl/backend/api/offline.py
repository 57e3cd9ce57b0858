"""Offline operation: signed manifests for devices, and reconciliation of their scans.

Who may pull a manifest: the device itself (its own manifest only), or a person who
manages devices of the venue (VENUE_MANAGER, ADMIN) on the device's behalf — the event
key inside is sealed to the device, so only the device can use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from scanctl.backend import store
from scanctl.backend.api.deps import Db, NowMs, responses
from scanctl.backend.api.upstream import copy_tickets
from scanctl.backend.auth.dependencies import require
from scanctl.backend.auth.permissions import Permission
from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.clock import datetime_to_ms, ms_to_datetime
from scanctl.backend.offline import DeviceNotEligible, ManifestIssuer
from scanctl.backend.offline.reconcile import OfflineScan, ScanResult, reconcile_scans
from scanctl.backend.settings import Settings
from scanctl.backend.state import backend_state
from scanctl.backend.store.offline import admissions_by_ticket, admissions_stamp
from scanctl.backend.text_guard import SCANNED_PAYLOAD, unsafe_text
from scanctl.core import Direction, Policy, Reason, derive_event_key
from scanctl.manifests import load_signing_key

__all__ = ["router"]

router = APIRouter(prefix="/api/offline", tags=["offline"], responses=responses(400, 401))

EventId = Annotated[UUID, Path(alias="eventId")]
Puller = Annotated[Principal, Depends(require(Permission.PULL_MANIFEST))]


def default_policy(settings: Settings) -> Policy:
    """The policy of an event without its own (the service defaults)."""
    return Policy(
        duplicate_window_seconds=settings.duplicate_scan_window_seconds,
        qr_lifetime_seconds=settings.qr_expiration_seconds,
    )


def issuer(request: Request) -> ManifestIssuer:
    """The app's manifest issuer, made on first use from the settings."""
    existing = backend_state(request.app).manifest_issuer
    if existing is not None:
        return existing
    settings: Settings = backend_state(request.app).settings
    if settings.manifest_signing_key is None:
        raise HTTPException(status_code=503, detail="no MANIFEST_SIGNING_KEY configured")
    secrets = [settings.hmac_secret.get_secret_value()]
    if settings.hmac_secret_previous is not None:
        secrets.append(settings.hmac_secret_previous.get_secret_value())
    made = ManifestIssuer(
        load_signing_key(settings.manifest_signing_key.get_secret_value()),
        tuple(secrets),
        validity_ms=int(settings.offline_manifest_validity_hours * 3_600_000),
        grace_ms=int(settings.offline_manifest_grace_hours * 3_600_000),
        admissions=admissions_by_ticket,
        admissions_stamp=admissions_stamp,
    )
    backend_state(request.app).manifest_issuer = made
    return made


def acting_device(principal: Principal, device_id: UUID | None) -> str:
    """The device a call is for: a device acts only as itself; a person names one."""
    if principal.kind is PrincipalKind.DEVICE:
        assert principal.device_id is not None
        if device_id is not None and str(device_id) != principal.device_id:
            raise HTTPException(status_code=403, detail="a device acts only as itself")
        return principal.device_id
    if device_id is None:
        raise HTTPException(status_code=400, detail="deviceId is required when a person calls")
    return str(device_id)


@router.get(
    "/manifest/{eventId}",
    response_class=Response,
    responses={
        200: {
            "description": "The signed manifest, or a delta when `since` is usable",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        **responses(403, 404),
    },
)
def pull_manifest(
    request: Request,
    principal: Puller,
    db: Db,
    now: NowMs,
    event_id: EventId,
    device_id: Annotated[UUID | None, Query(alias="deviceId")] = None,
    since: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """The event's signed offline manifest for a registered, active, offline-capable device
    of the event's venue, with the event key sealed to the device. With `since` (the
    sequence of the manifest the device holds) a delta of the tickets changed since."""
    who = acting_device(principal, device_id)
    scope = principal.scope()
    copy_tickets(request, scope.tenant_id, str(event_id))  # upstream tickets, when used
    made = issuer(request)
    settings: Settings = backend_state(request.app).settings
    with db.read(scope) as conn:
        device = store.get_device(scope, conn, who)
        policy = store.get_policy(scope, conn, str(event_id), default=default_policy(settings))
        try:
            issued = made.issue(
                scope,
                conn,
                device=device,
                event_id=str(event_id),
                policy=policy.policy,
                since=since,
                now_ms=now,
            )
        except DeviceNotEligible as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
    headers = {"X-Manifest-Sequence": str(issued.sequence)}
    if issued.base_sequence is not None:
        headers["X-Manifest-Base-Sequence"] = str(issued.base_sequence)
    return Response(issued.wire, media_type="application/octet-stream", headers=headers)


# -- reconciliation -------------------------------------------------------------------

MAX_SCANS = 10_000
"""Scans per reconcile call."""

_TICKET_ID = re.compile(r"[0-9a-f]{8}")
_PAYLOAD = frozenset({SCANNED_PAYLOAD})  # stored safely (reconcile_scans), never refused


class ScanIn(BaseModel):
    """One offline scan as the daemon journaled it."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="ignore")

    id: UUID
    qr_data: Annotated[str, StringConstraints(max_length=65_536)]
    """The scanned payload; stored cut to 512 characters."""
    ticket_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    """The ticket the gate read from the code; kept only when it is a ticket id (8 hex),
    so a gate's odd reading never blocks its whole outbox."""

    @field_validator("ticket_id")
    @classmethod
    def _ticket_id(cls, value: str | None) -> str | None:
        return value if value is not None and _TICKET_ID.fullmatch(value) else None

    allowed: bool
    reason: Reason
    gate: Annotated[str, StringConstraints(max_length=64)] | None = None
    scanner: Annotated[str, StringConstraints(max_length=64)] | None = None
    direction: Direction = Direction.ENTRY
    scanned_at: AwareDatetime
    decided_by: Literal["offline", "online"] = "offline"
    event_id: UUID | None = None
    warning: Annotated[str, StringConstraints(max_length=500)] | None = None
    """Why the gate flagged an admission (admitted on an expired manifest)."""


class ReconcileIn(BaseModel):
    """POST /api/offline/reconcile."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="forbid")

    device_id: UUID
    event_id: UUID | None = None
    """The event the scans belong to, when the device knows it (else the backend files
    each scan under the venue's event that holds its ticket, nearest in time)."""
    scans: Annotated[list[ScanIn], Field(max_length=MAX_SCANS)]

    _refused: list[tuple[int, str, str]] = PrivateAttr(default_factory=list)
    """(position, id, why) of items taken out before validation: text that cannot be
    stored (a NUL, a lone surrogate) refuses that item alone, never the batch."""

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_unsafe_items(
        cls, data: Any, handler: ModelWrapValidatorHandler[ReconcileIn]
    ) -> ReconcileIn:
        refused: list[tuple[int, str, str]] = []
        if isinstance(data, dict) and isinstance(data.get("scans"), list):
            kept = []
            for position, item in enumerate(data["scans"]):
                found = unsafe_text(item, kept=_PAYLOAD)
                if found is None:
                    kept.append(item)
                    continue
                raw_id = item.get("id") if isinstance(item, dict) else None
                safe_id = raw_id if isinstance(raw_id, str) and unsafe_text(raw_id) is None else ""
                refused.append((position, safe_id, f"{found.field()}: {found.message}"))
            if refused:
                data = {**data, "scans": kept}
        model = handler(data)
        model._refused = refused
        return model

    def with_refused(self, results: list[ScanResultOut]) -> list[ScanResultOut]:
        """``results`` (for the kept scans, in order) with the refused items put back in
        their places, each answered ``rejected`` with why."""
        merged = list(results)
        for position, scan_id, why in self._refused:
            merged.insert(
                position, ScanResultOut(id=scan_id, status="rejected", late=False, error=why)
            )
        return merged


class _Out(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True
    )


class ConflictOut(_Out):
    """Another admission of the same ticket, and the conflict the two are part of
    (``kind`` and ``conflictId`` as in `GET /api/conflicts`)."""

    scan_id: str
    device_id: str
    gate: str | None
    scanned_at: datetime
    kind: str
    conflict_id: str


class ScanResultOut(_Out):
    """The answer for one scan: accepted, duplicate, conflict, or rejected (not stored)."""

    id: str
    status: Literal["accepted", "duplicate", "conflict", "rejected"]
    late: bool
    ticket_id: str | None = None
    conflicts: list[ConflictOut] | None = None
    error: str | None = None
    unverified: str | None = None
    """Stored, but this could not be checked (e.g. a ticket the backend does not hold)."""


class ReconcileOut(_Out):
    """Per-scan results, in request order, and their counts."""

    results: list[ScanResultOut]
    summary: dict[str, int]


def _upload(scan: ScanIn, event_id: UUID | None) -> OfflineScan:
    event = scan.event_id or event_id
    return OfflineScan(
        id=str(scan.id),
        qr_data=scan.qr_data,
        ticket_id=scan.ticket_id,
        allowed=scan.allowed,
        reason=scan.reason.value,
        gate=scan.gate,
        direction=scan.direction.value,
        scanned_at_ms=datetime_to_ms(scan.scanned_at),
        decided_by=scan.decided_by,
        event_id=None if event is None else str(event),
        warning=scan.warning,
    )


def _result_out(result: ScanResult) -> ScanResultOut:
    conflicts = None
    if result.status == "conflict":
        conflicts = [
            ConflictOut(
                scan_id=c.scan_id,
                device_id=c.device_id,
                gate=c.gate,
                scanned_at=ms_to_datetime(c.scanned_at_ms),
                kind=c.kind,
                conflict_id=c.conflict_id,
            )
            for c in result.conflicts
        ]
    return ScanResultOut(
        id=result.id,
        status=result.status,
        late=result.late,
        ticket_id=result.ticket_id,
        conflicts=conflicts,
        error=result.error,
        unverified=result.unverified,
    )


def _event_keys(settings: Settings, tenant_id: str) -> Callable[[str], tuple[bytes, ...]]:
    """The QR keys of each event (current secret first), derived once per call."""
    secrets = [settings.hmac_secret.get_secret_value()]
    if settings.hmac_secret_previous is not None:
        secrets.append(settings.hmac_secret_previous.get_secret_value())
    derived: dict[str, tuple[bytes, ...]] = {}

    def keys_of(event_id: str) -> tuple[bytes, ...]:
        if event_id not in derived:
            derived[event_id] = tuple(derive_event_key(s, tenant_id, event_id) for s in secrets)
        return derived[event_id]

    return keys_of


Reconciler = Annotated[Principal, Depends(require(Permission.RECONCILE))]


@router.post(
    "/reconcile",
    response_model_exclude_none=True,
    responses=responses(403, 404, 413),
)
def reconcile(
    request: Request, body: ReconcileIn, principal: Reconciler, db: Db, now: NowMs
) -> ReconcileOut:
    """Upload a device's offline scans (at most 10,000 per call). Idempotent on each
    scan's id: a re-push stores nothing new and answers `duplicate` (or `conflict`
    again). A conflict is an admission in a double entry of its ticket across all
    devices (same code, same printed code, entry without exit, over allowance: see
    `GET /api/conflicts`); the answer lists the other admissions involved."""
    who = acting_device(principal, body.device_id)
    settings: Settings = backend_state(request.app).settings
    scope = principal.scope()
    uploads = [_upload(scan, body.event_id) for scan in body.scans]
    default = default_policy(settings)
    recorded: list[store.ScanRecord] = []
    with db.write(scope) as conn:
        device = store.get_device(scope, conn, who)
        policies: dict[str, Policy] = {}

        def policy_of(event_id: str) -> Policy:
            if event_id not in policies:
                policies[event_id] = store.get_policy(scope, conn, event_id, default=default).policy
            return policies[event_id]

        results = reconcile_scans(
            scope,
            conn,
            device=device,
            uploads=uploads,
            policy_of=policy_of,
            now_ms=now,
            late_after_ms=int(settings.offline_late_upload_hours * 3_600_000),
            event_keys_of=_event_keys(settings, scope.tenant_id),
            recorded=recorded,
        )
    backend_state(request.app).decisions.offline(
        (row.event_id, row.gate, row.reason) for row in recorded
    )
    answers = body.with_refused([_result_out(r) for r in results])
    summary = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    for answer in answers:
        summary[answer.status] += 1
    return ReconcileOut(results=answers, summary=summary)
