"""`POST /api/scan`: decide a scan online. Every well-formed request gets a decision (200).

Denials are values: the body says why (``reason``) with the facts that explain it.
HTTP errors are for requests that are not scans at all — malformed bodies (422),
callers who may not scan (401/403), unknown or revoked devices (404/403), events not
in the tenant (404). A device of another venue than the event, or than the person
scanning with it, is a decision (UNAUTHORIZED_VENUE), recorded and audited.

Rate limit: reads per device per minute come from the event's policy
(``scanner_rate_limit_per_minute``). Above it the answer is still a recorded decision,
RATE_LIMITED, with ``retryAfterSeconds`` and a ``Retry-After`` header — a gate needs a
reason to show, not a transport error, and the attempt belongs in the scan log.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool

from scanctl.backend.api.deps import responses
from scanctl.backend.auth.permissions import Permission
from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.clock import ms_to_datetime
from scanctl.backend.scanning import ScanJob, ScanService
from scanctl.backend.scanning.auth import require_fast
from scanctl.backend.scanning.service import DeviceFacts, TicketLookup
from scanctl.backend.sharedstate import SharedState
from scanctl.core import (
    Decision,
    Direction,
    EventFacts,
    ParsedCode,
    Policy,
    Reason,
    ScannerContext,
    TicketFacts,
    deny,
    parse_code,
)

__all__ = ["ScanIn", "ScanOut", "decide_and_record", "router", "scan_body"]

log = logging.getLogger("scanctl.backend.scanning")

router = APIRouter(tags=["scan"], responses=responses(400, 401))

Scanner = Annotated[Principal, Depends(require_fast(Permission.SCAN))]

_MAX_RAW_INPUT = 4096


class ScanIn(BaseModel):
    """A scan to decide. ``timestamp`` (when the device read the code) is informational:
    the decision uses the server's clock, which scans of every gate share."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    qr_data: str = Field(max_length=_MAX_RAW_INPUT, description="The scanned payload.")
    event_id: UUID
    device_id: UUID
    timestamp: datetime | int | None = None
    gate: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.:/-]*$"
    )
    direction: Direction = Direction.ENTRY
    zone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.:/-]*$",
        description=(
            "The zone the scanning lane guards, for a device registered without a zone"
            " (a gate computer with lanes in several zones). A device registered to a"
            " zone always decides in that zone, whatever it sends."
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


def scan_body(decision: Decision, scan_id: str, decided_at_ms: int) -> dict[str, object]:
    """The one mapping of a Decision to the response body (the shape of `ScanOut`).

    Built as a plain dict and serialized once: on the hot path, validating a model we
    have just built ourselves would cost more than deciding the scan.
    """
    # Specific facts only for codes that verified (an INVALID says nothing more).
    admitted_at = decision.admitted_at_ms
    return {
        "allowed": decision.allowed,
        "reason": decision.reason.value,
        "message": decision.message,
        "ticketId": decision.ticket_id if decision.verified else None,
        "admittedAt": None if admitted_at is None else _iso(admitted_at),
        "admittedGate": decision.admitted_gate or None,
        "transferredTo": decision.transferred_to,
        "retryAfterSeconds": decision.retry_after_s,
        "warning": decision.warning,
        "scanId": scan_id,
        "decidedAt": _iso(decided_at_ms),
    }


def _iso(ms: int) -> str:
    return ms_to_datetime(ms).isoformat().replace("+00:00", "Z")


def _clean(text: str) -> str:
    """Storable text: bounded, valid UTF-8, no NUL (PostgreSQL refuses it in TEXT)."""
    return text[:512].encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


@router.post("/api/scan", response_model=ScanOut, responses=responses(403, 404))
async def scan(body: ScanIn, principal: Scanner, request: Request) -> Response:
    """Decide one scan and record it (durably) before answering."""
    service: ScanService = request.app.state.scans
    tenant = principal.tenant_id
    device_id, event_id = str(body.device_id), str(body.event_id)
    if principal.kind is PrincipalKind.DEVICE and principal.device_id != device_id:
        await _audit(request, principal, "device", device_id, principal.venue_id)
        raise HTTPException(status_code=403, detail="a device scans only as itself")
    sync = service.db.is_sqlite  # local reads are cheaper than a thread hop
    device = (
        service.device(tenant, device_id)
        if sync
        else await run_in_threadpool(service.device, tenant, device_id)
    )
    if device is None:
        raise HTTPException(status_code=404, detail="device not found")
    if not device.active:
        raise HTTPException(status_code=403, detail="device revoked")
    code = parse_code(body.qr_data)
    # Upstream events and tickets are fetched here, awaited; the reads below are memory.
    await service.prepare(tenant, event_id, code)
    event = (
        service.event(tenant, event_id)
        if sync
        else await run_in_threadpool(service.event, tenant, event_id)
    )
    if event is None:
        raise HTTPException(status_code=404, detail="event not found")
    if sync:
        policy = service.policy(tenant, event_id)
        found = service.lookup(tenant, event_id, code)
    else:
        policy = await run_in_threadpool(service.policy, tenant, event_id)
        found = await run_in_threadpool(service.lookup, tenant, event_id, code)
    venue_ok = principal.scope().covers(device.venue_id) and device.venue_id == event.venue_id
    if not venue_ok:
        await _audit(request, principal, "device", device_id, device.venue_id)
    payload, headers = await decide_and_record(
        request.app.state, tenant, body, device, event, policy, code, found, venue_ok=venue_ok
    )
    return Response(payload, media_type="application/json", headers=headers)


async def decide_and_record(
    state: Any,
    tenant: str,
    body: ScanIn,
    device: DeviceFacts,
    event: EventFacts,
    policy: Policy,
    code: ParsedCode,
    found: TicketLookup,
    *,
    venue_ok: bool,
) -> tuple[bytes, dict[str, str]]:
    """The part of a scan after its checks, shared with the fast path (`scanning.fastpath`):
    rate limit, decide and record (durably), log an INVALID's cause; the JSON body and
    the extra headers. ``venue_ok`` False records UNAUTHORIZED_VENUE (the caller audits).
    """
    service: ScanService = state.scans
    device_id = str(body.device_id)
    ticket = found.ticket
    forced: Decision | None = None
    headers: dict[str, str] = {}
    scanner = ScannerContext(
        device_id=device_id,
        venue_id=device.venue_id,
        gate=body.gate or "",
        zone=device.zone or body.zone,
        direction=body.direction,
    )
    keys = service.event_keys(tenant, ticket.event_id) if ticket is not None else ()
    shared: SharedState | None = state.shared
    claimed: str | None = None
    if not venue_ok:
        forced = deny(Reason.UNAUTHORIZED_VENUE)
    elif shared is None:
        forced = _rate_limited(state, tenant, device_id, policy)
    else:
        # Inline, one round trip (a worker thread would cost more: the hop, and the wait
        # for the interpreter lock behind the busy event loop).
        forced, claimed = _shared_checks(
            state, shared, tenant, code, ticket, event, policy, scanner, keys
        )
    if forced is not None and forced.reason is Reason.RATE_LIMITED:
        headers["Retry-After"] = str(forced.retry_after_s)
    try:
        outcome = await service.record(
            ScanJob(
                tenant_id=tenant,
                code=code,
                ticket=ticket,
                event=event,
                policy=policy,
                scanner=scanner,
                event_keys=keys,
                raw=_clean(body.qr_data),
                forced=forced,
            )
        )
    except BaseException:
        if shared is not None:  # never recorded: the code may be scanned again
            shared.guard.release(claimed)
        raise
    decision = outcome.decision
    if (
        shared is not None
        and decision.allowed
        and ticket is not None
        and shared.guard.remembers(policy, scanner)
    ):
        # Before the answer, so that the gate's next scan finds it.
        shared.guard.admitted(tenant, ticket, scanner, outcome.decided_at_ms, policy)
    if decision.reason is Reason.INVALID:
        # The one place the specific cause is told: the server log, never the caller.
        log.info(
            "scan %s INVALID: %s (device %s)",
            outcome.scan_id,
            found.detail or "MAC did not verify",
            device_id,
        )
    body_out = scan_body(decision, outcome.scan_id, outcome.decided_at_ms)
    return json.dumps(body_out, separators=(",", ":")).encode(), headers


def _rate_limited(state: Any, tenant: str, device_id: str, policy: Policy) -> Decision | None:
    """RATE_LIMITED (with the seconds to wait) above the policy's reads per device, or None."""
    wait = state.rate_limits.hit_scan(tenant, device_id, policy.scanner_rate_limit_per_minute)
    return None if wait is None else deny(Reason.RATE_LIMITED)._replace(retry_after_s=wait)


def _shared_checks(
    state: Any,
    shared: SharedState,
    tenant: str,
    code: ParsedCode,
    ticket: TicketFacts | None,
    event: EventFacts,
    policy: Policy,
    scanner: ScannerContext,
    keys: tuple[bytes, ...],
) -> tuple[Decision | None, str | None]:
    """Rate limit and the Redis pre-check: a forced decision, and the nonce claimed.

    The device's rate is counted by the pre-check itself when the limits live in this
    Redis (one round trip for both); otherwise, and whenever Redis fails, by `RateLimits`.
    """
    rate: int | None = None
    if shared.counts_scans and shared.link.up:
        rate = policy.scanner_rate_limit_per_minute
    else:
        limited = _rate_limited(state, tenant, scanner.device_id, policy)
        if limited is not None:
            return limited, None
    precheck = shared.guard.precheck(
        tenant,
        code,
        ticket=ticket,
        event=event,
        policy=policy,
        scanner=scanner,
        event_keys=keys,
        now_ms=state.scans.clock(),
        rate_per_minute=rate,
    )
    if rate is not None and not precheck.counted:  # Redis failed: count in memory
        limited = _rate_limited(state, tenant, scanner.device_id, policy)
        if limited is not None:
            shared.guard.release(precheck.claimed)
            return limited, None
    return precheck.refusal, precheck.claimed


async def _audit(
    request: Request, principal: Principal, kind: str, target: str, venue: str | None
) -> None:
    await run_in_threadpool(request.app.state.audit_denial, request, principal, kind, target, venue)
