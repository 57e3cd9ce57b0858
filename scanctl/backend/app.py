"""`create_app(settings)`: the FastAPI application, its middleware, state and lifespan."""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from scanctl import __version__
from scanctl.backend.api import (
    audit,
    catalog,
    conflicts,
    devices,
    health,
    limits,
    offline,
    overrides,
    policies,
    qr,
    scan,
    scans,
    testing,
    upstream,
)
from scanctl.backend.api.errors import (
    install_error_handlers,
    record_denial,
    scan_denial_recorder,
)
from scanctl.backend.api.scan_fast import ScanFastPath
from scanctl.backend.auth.device_tokens import DeviceTokens
from scanctl.backend.auth.tokens import Authenticator, DeviceTokenVerifier, PersonTokenVerifier
from scanctl.backend.clock import Clock, system_clock
from scanctl.backend.compression import MeteredGZip
from scanctl.backend.db.engine import Database, create_database
from scanctl.backend.db.guard import isolation_problems
from scanctl.backend.db.migrate import current_revision, upgrade
from scanctl.backend.decision_metrics import DecisionCounts, register_process_collectors
from scanctl.backend.errors import ConfigError
from scanctl.backend.lifecycle import Lifecycle
from scanctl.backend.metrics import HttpMetrics, MetricsMiddleware
from scanctl.backend.middleware import BodySizeLimitMiddleware, TimeoutMiddleware
from scanctl.backend.ratelimit import RateLimits
from scanctl.backend.request_id import RequestIdMiddleware
from scanctl.backend.runtime_metrics import QueryCounter, RuntimeCollector
from scanctl.backend.scanning import ScanService, default_policy
from scanctl.backend.scanning.auth import TokenCache
from scanctl.backend.scanning.pipeline import ScanPipeline
from scanctl.backend.settings import Settings
from scanctl.backend.sharedstate import KeySpace
from scanctl.backend.sharedstate.wiring import shared_state_for
from scanctl.backend.state import BackendState
from scanctl.backend.text_guard import JsonTextGuard
from scanctl.backend.upstream import build_upstream

__all__ = ["create_app"]

log = logging.getLogger("scanctl.backend")

SLOW_REQUEST_SECONDS = 1.0
"""Requests slower than this get a log line (route, status, duration)."""


def create_app(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    database: Database | None = None,
    device_tokens: DeviceTokenVerifier | None = None,
) -> FastAPI:
    """The backend app. Nothing touches the database until the lifespan starts.

    ``database`` and ``clock`` are injectable for tests; ``device_tokens`` verifies
    device-signed tokens (default: `DeviceTokens` against the devices table).
    """
    db = database if database is not None else create_database(settings.effective_database_url)
    lifecycle = Lifecycle()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.should_auto_migrate:
            await run_in_threadpool(upgrade, db.engine)
        # PostgreSQL: tenants are kept apart only as an ordinary role on a secured schema.
        problems = await run_in_threadpool(isolation_problems, db.engine)
        if problems:
            db.close()
            raise ConfigError(problems)
        db.start_upkeep()
        scan_service.start()
        if shared is not None:  # a Redis that is down now is retried in the background
            await run_in_threadpool(shared.start)
        # Modules, routes and settings live as long as the process: out of the collector's
        # way, full collections stay short (they stop the event loop while they run).
        gc.freeze()
        lifecycle.mark_ready()
        revision = await run_in_threadpool(current_revision, db.engine)
        # The start-up banner: what runs, on what, at which schema (never a URL or secret).
        log.info(
            "scanctl backend ready",
            extra={
                "version": __version__,
                "database": db.engine.dialect.name,
                "revision": revision or "base",
                "redis": shared is not None,
                "upstream": settings.uses_upstream,
                "address": f"{settings.host}:{settings.port}",
            },
        )
        try:
            yield
        finally:
            lifecycle.start_draining()
            await run_in_threadpool(scan_service.stop)
            if scan_service.upstream is not None:
                await scan_service.upstream.aclose()
            if shared is not None:
                await run_in_threadpool(shared.stop)
            db.close()
            lifecycle.mark_stopped()

    app = FastAPI(
        title="scanctl backend",
        version=__version__,
        summary="Door operations for ticketed events: devices, catalog, policies, scans.",
        lifespan=lifespan,
    )
    metrics = HttpMetrics(slow_seconds=SLOW_REQUEST_SECONDS)
    rate_limits = RateLimits(
        settings.effective_rate_limit_storage_url,
        settings.device_registration_limit,
        key_prefix=KeySpace(settings.redis_key_prefix).limits,
        timeout_seconds=settings.redis_timeout_seconds,
    )
    if device_tokens is None:
        device_tokens = DeviceTokens(db, clock_s=lambda: clock() / 1000)
    secrets = [settings.hmac_secret.get_secret_value()]
    if settings.hmac_secret_previous is not None:
        secrets.append(settings.hmac_secret_previous.get_secret_value())
    scan_service = ScanService(
        db,
        clock,
        hmac_secrets=tuple(secrets),
        default_policy=default_policy(settings),
        upstream=build_upstream(settings, db, clock, metrics.registry),
    )
    shared = shared_state_for(settings, scan_service.cache, scan_service.upstream)
    metrics.registry.register(
        RuntimeCollector(scan_service, QueryCounter(db.engine), rate_limits, shared)
    )
    decisions = DecisionCounts()
    metrics.registry.register(decisions)
    register_process_collectors(metrics.registry)
    state = BackendState(
        settings=settings,
        db=db,
        clock=clock,
        lifecycle=lifecycle,
        metrics=metrics,
        rate_limits=rate_limits,
        authenticator=Authenticator(
            PersonTokenVerifier(settings.jwt_secret.get_secret_value()), device_tokens
        ),
        audit_denial=record_denial,
        scans=scan_service,
        shared=shared,
        # Device tokens only where a revocation reaches this process at once (TokenCache).
        tokens=TokenCache(remember_devices=db.is_sqlite or shared is not None),
        pipeline=ScanPipeline(
            scan_service,
            rate_limits,
            shared,
            scan_denial_recorder(db, clock),
            upstream_retry_s=math.ceil(settings.upstream_reset_seconds),
            decisions=decisions,
        ),
        decisions=decisions,
    )
    app.state.backend = state

    install_error_handlers(app)
    # Routes match in order: the hot path first, before the catalog's dozens of routes.
    # Every router has its rate-limit group (`api.limits`); health routes need no token.
    groups = limits.GROUPS
    for router, group in (
        (scan.router, groups["scan"]),
        (health.router, None),
        (catalog.router, groups["catalog"]),
        (devices.router, groups["devices"]),
        (policies.router, groups["policies"]),
        (audit.router, groups["audit"]),
        (offline.router, groups["offline"]),
        (overrides.router, groups["offline"]),
        (qr.router, groups["qr"]),
        (scans.router, groups["scans"]),
        (conflicts.router, groups["conflicts"]),
        (upstream.router, groups["upstream"]),
    ):
        limits.include(app, router, group)
    if settings.enable_test_routes:
        app.include_router(testing.router)

    # Added last = outermost: metrics see the 413s and 504s of the inner limits.
    # Inside the body limit: it reads whole bodies, which the limit has bounded.
    app.add_middleware(
        JsonTextGuard,
        per_item=frozenset({"/api/offline/reconcile"}),
        scan_paths=frozenset({"/api/scan"}),
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(TimeoutMiddleware, seconds=settings.request_timeout_seconds)
    app.add_middleware(MeteredGZip, metrics=metrics)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Outermost: ordinary scans are answered here, with the same metrics, slow log,
    # deadline and body limit as above; every other request passes through them.
    app.add_middleware(
        ScanFastPath,
        pipeline=state.pipeline,
        tokens=state.tokens,
        clock=clock,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        timeout_seconds=settings.request_timeout_seconds,
    )
    # Outermost of all: every line logged for a request carries its id.
    app.add_middleware(RequestIdMiddleware)
    return app
