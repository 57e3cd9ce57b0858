"""Liveness, readiness and metrics: no authentication, for orchestrators and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from scanctl.backend.lifecycle import Lifecycle
from scanctl.backend.metrics import HttpMetrics
from scanctl.backend.sharedstate import SharedState
from scanctl.backend.state import backend_state
from scanctl.backend.upstream import UpstreamCatalog

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    """Always 200 while the process runs."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: 200 when serving, 503 while starting or draining",
    responses={503: {"description": "Starting or draining"}},
)
async def ready(request: Request) -> JSONResponse:
    """Whether to send this instance work, and (with Redis) whether it runs degraded.

    A Redis outage keeps the answer 200: the instance still decides correctly from the
    database, and every instance shares the one Redis — a 503 would take them all out
    of the load balancer at once and turn a slower service into no service. The
    details say ``"redis": "unavailable"`` and ``degraded`` for people and alerts.
    An open breaker of an upstream ticket or event service is reported the same way:
    the instance still decides every ticket it has cached.
    """
    state = backend_state(request.app)
    lifecycle: Lifecycle = state.lifecycle
    status = 200 if lifecycle.ready else 503
    body: dict[str, object] = {"status": lifecycle.phase.value}
    details: dict[str, object] = {}
    degraded = False
    shared: SharedState | None = state.shared
    if shared is not None:
        details.update(shared.details())
        details["rateLimits"] = state.rate_limits.storage
        degraded = details["redis"] != "ok"
    upstream: UpstreamCatalog | None = state.scans.upstream
    if upstream is not None:
        breakers = upstream.breaker_states()
        details["upstream"] = breakers
        degraded = degraded or any(state != "closed" for state in breakers.values())
    if details:
        body["degraded"] = degraded
        body["details"] = details
    return JSONResponse(body, status_code=status)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request counts and latency histograms by route template and status."""
    collected: HttpMetrics = backend_state(request.app).metrics
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)
