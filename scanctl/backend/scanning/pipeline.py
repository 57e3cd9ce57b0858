"""`ScanPipeline`: the one online scan operation — a `ScanRequest` in, a `ScanAnswer` out.

Both HTTP entry points are thin adapters over it: the FastAPI route (`api.scan`, for
every request) and the ASGI fast path (`api.scan_fast`, for the ordinary one without the
framework's per-request work). Neither decides, looks up or records anything itself, so
the two can never answer one scan two ways. The steps, in order:

1. The caller: a device scans only as itself (403, audited).
2. The device: registered (404) and active (403); a lane zone that contradicts the
   device's registered zone is refused (422: a set-up error, not a scan; `core.lanes`).
3. The upstream ticket and event services, when the tenant has them (`prepare`); when
   they cannot answer, 503 with ``service`` and ``Retry-After`` (not a decision).
4. Event (404), policy and ticket, from the caches.
5. Venue: a device of another venue than the event, or than the person scanning with
   it, is decided UNAUTHORIZED_VENUE (recorded and audited).
6. Rate limit per lane (`core.rate_limit_unit`) and, with Redis, the shared pre-check of
   replays and duplicate admissions — one round trip for both.
7. The writer: decides with `core.decide()` in its transaction and records durably; a
   scan id the gate sent before is answered with the decision stored then.
8. After the commit: the admission is remembered in Redis for the other instances, an
   INVALID's cause goes to the server log (never to the caller), and the answer is
   `core.decision_to_wire`'s body.

Reads are local on SQLite (cheaper than a thread hop); elsewhere they are tried from
this process's memory first and hop to a worker thread only on a miss.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.decision_metrics import DecisionCounts
from scanctl.backend.ratelimit import RateLimits
from scanctl.backend.scanning.cache import CacheMiss, memory_only
from scanctl.backend.scanning.service import ScanService, TicketLookup
from scanctl.backend.scanning.writer import ScanJob, ScanOutcome
from scanctl.backend.sharedstate import SharedState
from scanctl.backend.text_guard import storable_text
from scanctl.backend.upstream.errors import UpstreamUnavailable
from scanctl.core import (
    Decision,
    Direction,
    EventFacts,
    ParsedCode,
    Policy,
    Reason,
    ScannerContext,
    TicketFacts,
    decision_to_wire,
    deny,
    lane_zone_conflict,
    parse_code,
    rate_limit_unit,
    stored_payload,
)

__all__ = ["AuditDenial", "ScanAnswer", "ScanPipeline", "ScanRefused", "ScanRequest"]

log = logging.getLogger("scanctl.backend.scanning")

P = ParamSpec("P")
T = TypeVar("T")

AuditDenial = Callable[[Principal, "ScanRequest", str, str, str | None], None]
"""Writes the audit row of a refused attempt: (caller, request, target kind, target id,
venue). Blocking: the pipeline runs it in a worker thread."""

_STORED_RAW = 512


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """One scan to decide, as the caller sent it (already validated for shape).

    ``scan_id`` is the id the gate gave the read and ``read_at_ms`` when it read it;
    ``client_device`` the device a person's client says it runs on (audit only);
    ``metadata`` the client's own facts about the scan, as compact JSON (stored as is).
    """

    principal: Principal
    qr_data: str
    event_id: str
    device_id: str
    gate: str | None = None
    lane: str | None = None
    zone: str | None = None
    direction: Direction = Direction.ENTRY
    scan_id: str | None = None
    read_at_ms: int | None = None
    client_device: str | None = None
    metadata: str | None = None


class ScanRefused(Exception):
    """A request that is not a scan this backend can decide: an HTTP error to answer,
    ``{"detail": …}`` plus ``extra`` fields, with ``headers``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> bytes:
        """The JSON body of the answer."""
        return json.dumps({"detail": self.detail, **self.extra}).encode()


@dataclass(frozen=True, slots=True)
class ScanAnswer:
    """The outcome, the JSON body that tells it, and extra response headers."""

    outcome: ScanOutcome
    body: bytes
    headers: dict[str, str]


class ScanPipeline:
    """Decides and records online scans; see the module docstring for the steps."""

    def __init__(
        self,
        service: ScanService,
        rate_limits: RateLimits,
        shared: SharedState | None,
        audit: AuditDenial,
        *,
        upstream_retry_s: int = 30,
        decisions: DecisionCounts | None = None,
    ) -> None:
        self.service = service
        self.rate_limits = rate_limits
        self.shared = shared
        self.audit = audit
        self.upstream_retry_s = upstream_retry_s
        self.decisions = decisions

    async def scan(self, request: ScanRequest) -> ScanAnswer:
        """Decide one scan and record it (durably) before answering; ScanRefused when the
        request is no scan to decide (nothing is recorded then)."""
        service = self.service
        principal = request.principal
        tenant = principal.tenant_id
        if principal.kind is PrincipalKind.DEVICE and principal.device_id != request.device_id:
            await self._audit(request, "device", request.device_id, principal.venue_id)
            raise ScanRefused(403, "a device scans only as itself")
        device = await self._read(service.device, tenant, request.device_id)
        if device is None:
            raise ScanRefused(404, "device not found")
        if not device.active:
            raise ScanRefused(403, "device revoked")
        problem = lane_zone_conflict(device.zone, request.zone)
        if problem is not None:
            raise ScanRefused(422, problem)
        code = parse_code(request.qr_data)
        # Upstream events and tickets are fetched here, awaited; the reads below are memory.
        try:
            await service.prepare(tenant, request.event_id, code)
        except UpstreamUnavailable as error:
            # Not a decision: the gate decides offline and reconciles later, rather than
            # being told INVALID for a ticket nobody could look up.
            log.info("%s", error)
            raise ScanRefused(
                503,
                str(error),
                extra={"service": error.service},
                headers={"Retry-After": str(self.upstream_retry_s)},
            ) from None
        looked = await self._read(self._look_up, tenant, request.event_id, code)
        if looked is None:
            raise ScanRefused(404, "event not found")
        event, policy, found = looked
        venue_ok = principal.scope().covers(device.venue_id) and device.venue_id == event.venue_id
        if not venue_ok:
            await self._audit(request, "device", request.device_id, device.venue_id)
        scanner = ScannerContext(
            device_id=request.device_id,
            venue_id=device.venue_id,
            gate=request.gate or "",
            zone=request.zone,
            direction=request.direction,
            device_zone=device.zone,
            lane=request.lane or "",
        )
        return await self._decide_and_record(
            request, event, policy, code, found, scanner, venue_ok=venue_ok
        )

    def _look_up(
        self, tenant: str, event_id: str, code: ParsedCode
    ) -> tuple[EventFacts, Policy, TicketLookup] | None:
        service = self.service
        event = service.event(tenant, event_id)
        if event is None:
            return None
        return event, service.policy(tenant, event_id), service.lookup(tenant, event_id, code)

    async def _read(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self.service.db.is_sqlite:
            return read(*args, **kwargs)
        try:
            with memory_only():  # microseconds when this process remembers it
                return read(*args, **kwargs)
        except CacheMiss:
            return await run_in_threadpool(read, *args, **kwargs)

    async def _audit(self, request: ScanRequest, kind: str, target: str, venue: str | None) -> None:
        await run_in_threadpool(self.audit, request.principal, request, kind, target, venue)

    async def _decide_and_record(
        self,
        request: ScanRequest,
        event: EventFacts,
        policy: Policy,
        code: ParsedCode,
        found: TicketLookup,
        scanner: ScannerContext,
        *,
        venue_ok: bool,
    ) -> ScanAnswer:
        service = self.service
        tenant = request.principal.tenant_id
        ticket = found.ticket
        keys = service.event_keys(tenant, ticket.event_id) if ticket is not None else ()
        shared = self.shared
        claimed: str | None = None
        forced: Decision | None
        if not venue_ok:
            forced = deny(Reason.UNAUTHORIZED_VENUE)
        elif shared is None:
            forced = self._rate_limited(tenant, scanner, policy)
        else:
            # Inline, one round trip (a worker thread would cost more: the hop, and the
            # wait for the interpreter lock behind the busy event loop).
            forced, claimed = self._shared_checks(
                shared, tenant, code, ticket, event, policy, scanner, keys
            )
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
                    raw=stored_payload(code) or storable_text(request.qr_data, _STORED_RAW),
                    forced=forced,
                    scan_id=request.scan_id,
                    read_at_ms=request.read_at_ms,
                    metadata=request.metadata,
                )
            )
        except BaseException:
            if shared is not None:  # never recorded: the code may be scanned again
                shared.guard.release(claimed)
            raise
        decision = outcome.decision
        if self.decisions is not None and not outcome.replayed:
            self.decisions.online(request.event_id, scanner.gate, decision.reason.value)
        if (
            shared is not None
            and decision.allowed
            and not outcome.replayed
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
                request.device_id,
                extra={"scan_id": outcome.scan_id, "event_id": request.event_id},
            )
        headers: dict[str, str] = {}
        if decision.reason is Reason.RATE_LIMITED and decision.retry_after_s is not None:
            headers["Retry-After"] = str(decision.retry_after_s)
        body = decision_to_wire(decision, outcome.scan_id, outcome.decided_at_ms)
        return ScanAnswer(outcome, json.dumps(body, separators=(",", ":")).encode(), headers)

    def _rate_limited(
        self, tenant: str, scanner: ScannerContext, policy: Policy
    ) -> Decision | None:
        """RATE_LIMITED (with the seconds to wait) above the policy's reads per lane."""
        wait = self.rate_limits.hit_scan(
            tenant, rate_limit_unit(scanner), policy.scanner_rate_limit_per_minute
        )
        return None if wait is None else deny(Reason.RATE_LIMITED)._replace(retry_after_s=wait)

    def _shared_checks(
        self,
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

        The lane's rate is counted by the pre-check itself when the limits live in this
        Redis (one round trip for both); otherwise, and whenever Redis fails, by
        `RateLimits`.
        """
        rate: int | None = None
        if shared.counts_scans and shared.link.up:
            rate = policy.scanner_rate_limit_per_minute
        else:
            limited = self._rate_limited(tenant, scanner, policy)
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
            now_ms=self.service.clock(),
            rate_per_minute=rate,
        )
        if rate is not None and not precheck.counted:  # Redis failed: count in memory
            limited = self._rate_limited(tenant, scanner, policy)
            if limited is not None:
                shared.guard.release(precheck.claimed)
                return limited, None
        return precheck.refusal, precheck.claimed
