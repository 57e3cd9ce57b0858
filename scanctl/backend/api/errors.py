"""The one mapping from backend errors to HTTP answers, and the audit of denied attempts."""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from scanctl.backend.audit_budget import DenialBudget
from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.db.engine import Database
from scanctl.backend.errors import Conflict, NotFound, OutOfVenue
from scanctl.backend.scanning.pipeline import AuditDenial, ScanRequest
from scanctl.backend.state import backend_state
from scanctl.backend.store import AuditEntry, record_audit
from scanctl.backend.upstream.errors import UpstreamUnavailable

__all__ = ["install_error_handlers", "record_denial", "scan_denial_recorder"]


class _AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped, so any Python text renders (lone surrogates too)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


log = logging.getLogger("scanctl.backend")

_BUDGETS: weakref.WeakKeyDictionary[Database, DenialBudget] = weakref.WeakKeyDictionary()
"""One bound on refusal rows per application (its database)."""
_BUDGETS_LOCK = threading.Lock()

DEVICE_HEADER = "X-Device-Id"
"""A person's client may name the device it runs on; the audit log records it."""


def _device_of(principal: Principal, named: str | None) -> str | None:
    """The device of an attempt: a device's own id, or the one a person's client names."""
    if principal.kind is PrincipalKind.DEVICE:
        return principal.device_id
    if named is None:
        return None
    try:
        return str(uuid.UUID(named))
    except ValueError:
        return None


def _action(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"{request.method} {path}"[:64]


def record_denial(
    request: Request,
    principal: Principal,
    target_kind: str,
    target_id: str | None,
    venue_id: str | None,
) -> None:
    """Write an audit row for a refused attempt (runs in a worker thread)."""
    state = backend_state(request.app)
    _write_denial(
        state.db,
        state.clock(),
        principal,
        action=_action(request),
        device_id=_device_of(principal, request.headers.get(DEVICE_HEADER)),
        target=(target_kind, target_id, venue_id),
    )


def scan_denial_recorder(database: Database, clock: Callable[[], int]) -> AuditDenial:
    """The scan pipeline's audit of refused scans (`POST /api/scan`), as `record_denial`."""

    def record(
        principal: Principal,
        request: ScanRequest,
        target_kind: str,
        target_id: str,
        venue_id: str | None,
    ) -> None:
        _write_denial(
            database,
            clock(),
            principal,
            action="POST /api/scan",
            device_id=_device_of(principal, request.client_device),
            target=(target_kind, target_id, venue_id),
        )

    return record


def _write_denial(
    database: Database,
    at_ms: int,
    principal: Principal,
    *,
    action: str,
    device_id: str | None,
    target: tuple[str, str | None, str | None],
) -> None:
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(database)
        if budget is None:
            budget = _BUDGETS[database] = DenialBudget()
    record, left_out = budget.admit(principal.tenant_id, principal.subject, at_ms)
    if not record:
        return
    target_kind, target_id, venue_id = target
    entry = AuditEntry(
        at_ms=at_ms,
        actor=principal.subject,
        actor_kind=principal.kind.value,
        actor_role=principal.role.value,
        device_id=device_id,
        action=action,
        outcome="denied",
        target_kind=target_kind[:32],
        target_id=None if target_id is None else target_id[:64],
        venue_id=venue_id,
        detail=f"{left_out} earlier refusals of this caller were not recorded (audit bound)"
        if left_out
        else None,
    )
    try:
        with database.write(principal.scope()) as conn:
            record_audit(principal.scope(), conn, entry)
    except Exception:  # the refusal stands even if the audit write fails
        log.exception("could not write the audit row of a denied request")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; foreign and absent objects get the very same 404 body."""

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": f"{exc.kind} not found"}, status_code=404)

    @app.exception_handler(OutOfVenue)
    async def out_of_venue(request: Request, exc: OutOfVenue) -> JSONResponse:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is not None:
            await run_in_threadpool(
                record_denial, request, principal, exc.kind, exc.object_id, exc.venue_id
            )
        return JSONResponse({"detail": "not allowed for this venue"}, status_code=403)

    @app.exception_handler(Conflict)
    async def conflict(_request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(UpstreamUnavailable)
    async def upstream_unavailable(request: Request, exc: UpstreamUnavailable) -> JSONResponse:
        # Not a decision: the gate decides offline and reconciles later, rather than
        # being told INVALID for a ticket nobody could look up. Retry once a probe may go.
        log.info("%s", exc)
        retry = math.ceil(backend_state(request.app).settings.upstream_reset_seconds)
        return JSONResponse(
            {"detail": str(exc), "service": exc.service},
            status_code=503,
            headers={"Retry-After": str(retry)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer, rendered with \u escapes (an input echoed back may hold
        # text UTF-8 cannot encode, a lone surrogate) and with NaN or Infinity, which
        # Python's JSON reader takes and JSON cannot carry, as text: it stays a 422.
        details = _finite(jsonable_encoder(exc.errors()))
        return _AsciiJSONResponse({"detail": details}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", _action(request), exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)


def _finite(value: object) -> object:
    """``value`` with every non-finite float replaced by its text (``"nan"``, ``"inf"``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
