"""Per-event policies and the tenant's policy templates (bodies are `core.Policy`)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response

from scanctl.backend import store
from scanctl.backend.api.deps import Db, NowMs, PolicyManager, Reader, TemplateManager, responses
from scanctl.backend.api.models import PolicyOut, TemplateOut
from scanctl.backend.api.upstream import ensure_event
from scanctl.backend.clock import ms_to_datetime
from scanctl.backend.scanning.cache import invalidate
from scanctl.backend.settings import Settings
from scanctl.backend.state import backend_state
from scanctl.core import Policy

__all__ = ["router"]

router = APIRouter(tags=["policies"], responses=responses(400, 401))

EventId = Annotated[UUID, Path(alias="eventId")]
TemplateName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _default_policy(request: Request) -> Policy:
    settings: Settings = backend_state(request.app).settings
    return Policy(
        duplicate_window_seconds=settings.duplicate_scan_window_seconds,
        qr_lifetime_seconds=settings.qr_expiration_seconds,
    )


def _policy_out(record: store.PolicyRecord) -> PolicyOut:
    return PolicyOut(
        event_id=record.event_id,
        policy=record.policy,
        is_default=record.is_default,
        updated_by=record.updated_by,
        updated_at=None if record.updated_at_ms is None else ms_to_datetime(record.updated_at_ms),
    )


def _template_out(record: store.TemplateRecord) -> TemplateOut:
    return TemplateOut(
        name=record.name,
        policy=record.policy,
        built_in=record.built_in,
        updated_at=None if record.updated_at_ms is None else ms_to_datetime(record.updated_at_ms),
    )


@router.get("/api/policies/{eventId}", responses=responses(403, 404))
def get_policy(principal: Reader, db: Db, request: Request, event_id: EventId) -> PolicyOut:
    """The event's policy (the service defaults, flagged `isDefault`, until one is set)."""
    scope = principal.scope()
    ensure_event(request, scope.tenant_id, str(event_id))
    with db.read(scope) as conn:
        record = store.get_policy(scope, conn, str(event_id), default=_default_policy(request))
    return _policy_out(record)


@router.put("/api/policies/{eventId}", responses=responses(403, 404))
def put_policy(
    body: Policy,
    principal: PolicyManager,
    db: Db,
    now: NowMs,
    event_id: EventId,
    request: Request,
) -> PolicyOut:
    """Replace the event's policy. Unknown keys and inconsistent settings are refused (422)."""
    scope = principal.scope()
    ensure_event(request, scope.tenant_id, str(event_id))  # policies stay local, events not
    with db.write(scope) as conn:
        record = store.put_policy(
            scope, conn, str(event_id), body, updated_by=principal.subject, now_ms=now
        )
    invalidate(backend_state(request.app), scope.tenant_id, event_id=str(event_id))
    return _policy_out(record)


@router.get("/api/policy-templates")
def list_templates(principal: Reader, db: Db) -> list[TemplateOut]:
    """Built-in templates (standard, no-reentry, festival-reentry, vip-zones) and your own."""
    scope = principal.scope()
    with db.read(scope) as conn:
        return [_template_out(r) for r in store.list_templates(scope, conn)]


@router.get("/api/policy-templates/{name}", responses=responses(404))
def get_template(principal: Reader, db: Db, name: TemplateName) -> TemplateOut:
    """One template."""
    scope = principal.scope()
    with db.read(scope) as conn:
        return _template_out(store.get_template(scope, conn, name))


@router.put("/api/policy-templates/{name}", responses=responses(403))
def put_template(
    body: Policy, principal: TemplateManager, db: Db, now: NowMs, name: TemplateName
) -> TemplateOut:
    """Create or replace one of your tenant's templates (a built-in name is overridden)."""
    scope = principal.scope()
    with db.write(scope) as conn:
        record = store.put_template(
            scope, conn, name, body, updated_by=principal.subject, now_ms=now
        )
    return _template_out(record)


@router.delete(
    "/api/policy-templates/{name}",
    status_code=204,
    response_class=Response,
    responses=responses(403, 404),
)
def delete_template(principal: TemplateManager, db: Db, name: TemplateName) -> Response:
    """Remove one of your tenant's templates (built-ins stay)."""
    scope = principal.scope()
    with db.write(scope) as conn:
        store.delete_template(scope, conn, name)
    return Response(status_code=204)
