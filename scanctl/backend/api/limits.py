"""Rate limits of the API routes: one documented limit group per router, none without.

Every authenticated route belongs to a group (`GROUPS`). A group either counts each
caller's requests per minute itself — reads (GET) and writes (everything else) apart,
per person (tenant and subject) or per device, shared by every backend instance when
rate limits live in Redis — or names the limit its routes apply on their own (scans:
per lane, from the event's policy; QR codes: per user and ticket). Above the limit the
answer is 429 with ``Retry-After``. `include` puts a router into the app with its
group's check and documents the group in the OpenAPI document (``x-rate-limit`` on every
operation, and the 429 answer); a test walks the document and finds no route without.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.routing import APIRoute

from scanctl.backend.api.deps import responses
from scanctl.backend.auth.dependencies import CurrentPrincipal
from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.ratelimit import QR_PER_MINUTE, RateLimits
from scanctl.backend.state import backend_state

__all__ = ["GROUPS", "LimitGroup", "include"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class LimitGroup:
    """A router's limit: requests per caller per minute, or the routes' own (``own``)."""

    name: str
    reads_per_minute: int | None = None
    writes_per_minute: int | None = None
    own: str | None = None
    """The limit the routes apply themselves, described (they are not counted here)."""

    def document(self, method: str) -> dict[str, Any]:
        """The ``x-rate-limit`` entry of an operation with this HTTP method."""
        if self.own is not None:
            return {"group": self.name, "per": "route", "description": self.own}
        amount = self._amount(method)
        kind = "reads" if method in _READS else "writes"
        return {
            "group": self.name,
            "per": "caller",
            "requestsPerMinute": amount,
            "description": f"{amount} {kind} per minute per caller (person or device) in"
            f" the {self.name} group; above it 429 with Retry-After",
        }

    def _amount(self, method: str) -> int:
        amount = self.reads_per_minute if method in _READS else self.writes_per_minute
        assert amount is not None, f"{self.name}: no limit for {method}"
        return amount

    def dependencies(self) -> list[Any]:
        """The check to run before each route of the group (none for ``own`` limits)."""
        if self.own is not None:
            return []
        group = self

        async def rate_limited(request: Request, principal: CurrentPrincipal) -> None:
            amount = group._amount(request.method)
            limits: RateLimits = backend_state(request.app).rate_limits
            kind = "read" if request.method in _READS else "write"
            wait = limits.hit_caller(
                f"{group.name}-{kind}", principal.tenant_id, _caller(principal), amount
            )
            if wait is not None:
                raise HTTPException(
                    status_code=429,
                    detail=f"too many {group.name} {kind}s: at most {amount} a minute per"
                    f" caller; the next is allowed in {wait} s",
                    headers={"Retry-After": str(wait)},
                )

        return [Depends(rate_limited)]


def _caller(principal: Principal) -> str:
    if principal.kind is PrincipalKind.DEVICE:
        return f"device:{principal.device_id}"
    return f"person:{principal.subject}"


GROUPS: dict[str, LimitGroup] = {
    group.name: group
    for group in (
        LimitGroup(
            "scan",
            own="reads per lane per minute from the event's policy"
            " (scannerRateLimitPerMinute); above it the decision RATE_LIMITED with"
            " retryAfterSeconds and Retry-After",
        ),
        LimitGroup(
            "qr",
            own=f"{QR_PER_MINUTE} codes per minute per user and ticket; above it 429 with"
            " Retry-After",
        ),
        LimitGroup("catalog", reads_per_minute=1200, writes_per_minute=600),
        LimitGroup("devices", reads_per_minute=1200, writes_per_minute=600),
        # Plan 2.7: every policy endpoint. Edits are rare and made by people.
        LimitGroup("policies", reads_per_minute=600, writes_per_minute=60),
        LimitGroup("audit", reads_per_minute=600),
        # Gates: manifest pulls, reconciliation batches, override reports. A busy gate's
        # outbox pushes as soon as the last push was answered (tens a second at 200 scans/s)
        # and asks for conflicts after each: 100 a second stops only a flood.
        LimitGroup("offline", reads_per_minute=600, writes_per_minute=6000),
        LimitGroup("scans", reads_per_minute=600),
        LimitGroup("conflicts", reads_per_minute=6000),
        LimitGroup("upstream", writes_per_minute=600),
    )
}


def include(app: FastAPI, router: APIRouter, group: LimitGroup | None) -> None:
    """Add ``router`` to ``app`` with its group's check and documentation (``None``: the
    unauthenticated health routes, which have no limit)."""
    if group is None:
        app.include_router(router)
        return
    # The routers are modules' own: documenting them again for another app is a no-op.
    for route in router.routes:
        if isinstance(route, APIRoute):
            entry = group.document(sorted(route.methods or {"GET"})[0])
            route.openapi_extra = {**(route.openapi_extra or {}), "x-rate-limit": entry}
    counted = group.own is None
    app.include_router(
        router,
        dependencies=group.dependencies(),
        responses=responses(429) if counted else None,
    )
