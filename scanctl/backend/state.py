"""`BackendState`: everything the application is composed of, typed, in one object.

Built once by `create_app` and kept as ``app.state.backend``; routes reach it through
`backend_state(request.app)`, so every part they use has a type mypy checks (starlette's
own ``app.state`` is a bag of anything).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette

if TYPE_CHECKING:
    from fastapi import Request

    from scanctl.backend.auth.principal import Principal
    from scanctl.backend.auth.tokens import Authenticator
    from scanctl.backend.clock import Clock
    from scanctl.backend.db.engine import Database
    from scanctl.backend.decision_metrics import DecisionCounts
    from scanctl.backend.lifecycle import Lifecycle
    from scanctl.backend.metrics import HttpMetrics
    from scanctl.backend.offline.issuing import ManifestIssuer
    from scanctl.backend.ratelimit import RateLimits
    from scanctl.backend.scanning.auth import TokenCache
    from scanctl.backend.scanning.pipeline import ScanPipeline
    from scanctl.backend.scanning.service import ScanService
    from scanctl.backend.settings import Settings
    from scanctl.backend.sharedstate import SharedState

__all__ = ["AuditDenied", "BackendState", "backend_state"]

AuditDenied = Callable[["Request", "Principal", str, "str | None", "str | None"], None]
"""Writes the audit row of a refused request: (request, caller, target kind, target id,
venue). Blocking: callers run it in a worker thread."""


@dataclass
class BackendState:
    """The parts of one backend application."""

    settings: Settings
    db: Database
    clock: Clock
    lifecycle: Lifecycle
    metrics: HttpMetrics
    rate_limits: RateLimits
    authenticator: Authenticator
    audit_denial: AuditDenied
    scans: ScanService
    shared: SharedState | None
    tokens: TokenCache
    pipeline: ScanPipeline
    decisions: DecisionCounts
    """Stored decisions by event, gate, reason and who decided (for `/metrics`)."""
    manifest_issuer: ManifestIssuer | None = None
    """Made on the first manifest request (it needs MANIFEST_SIGNING_KEY)."""


def backend_state(app: Starlette) -> BackendState:
    """The state `create_app` composed for ``app``."""
    state: BackendState = app.state.backend
    return state
