"""Per-event policies and per-tenant policy templates, validated by `core.Policy`."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from scanctl.backend.db.schema import policies, policy_templates
from scanctl.backend.errors import NotFound, OutOfVenue
from scanctl.backend.store.events import get_event
from scanctl.backend.store.scope import Scope
from scanctl.core import POLICY_TEMPLATES, Policy

__all__ = [
    "PolicyRecord",
    "TemplateRecord",
    "delete_template",
    "get_policy",
    "get_template",
    "list_templates",
    "put_policy",
    "put_template",
]


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """An event's policy; ``is_default`` when the event has none of its own yet."""

    event_id: str
    policy: Policy
    is_default: bool
    updated_by: str | None
    updated_at_ms: int | None


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """A named policy: built in (`core.POLICY_TEMPLATES`) or the tenant's own."""

    name: str
    policy: Policy
    built_in: bool
    updated_at_ms: int | None


def _load(body: str) -> Policy:
    return Policy.model_validate(json.loads(body))


def _dump(policy: Policy) -> str:
    return json.dumps(policy.as_dict(), sort_keys=True)


def get_policy(scope: Scope, conn: Connection, event_id: str, *, default: Policy) -> PolicyRecord:
    """The event's policy, or ``default`` (flagged) when none was set."""
    get_event(scope, conn, event_id)
    row = conn.execute(
        select(policies).where(
            scope.tenant_filter(policies.c.tenant_id), policies.c.event_id == event_id
        )
    ).first()
    if row is None:
        return PolicyRecord(event_id, default, True, None, None)
    m = row._mapping
    return PolicyRecord(event_id, _load(m["body"]), False, m["updated_by"], m["updated_at_ms"])


def put_policy(
    scope: Scope, conn: Connection, event_id: str, policy: Policy, *, updated_by: str, now_ms: int
) -> PolicyRecord:
    """Set the event's policy (replacing any earlier one)."""
    get_event(scope, conn, event_id)
    values = {"body": _dump(policy), "updated_by": updated_by, "updated_at_ms": now_ms}
    result = conn.execute(
        update(policies)
        .where(scope.tenant_filter(policies.c.tenant_id), policies.c.event_id == event_id)
        .values(values)
    )
    if result.rowcount == 0:
        conn.execute(
            policies.insert().values(tenant_id=scope.tenant_id, event_id=event_id, **values)
        )
    return PolicyRecord(event_id, policy, False, updated_by, now_ms)


def list_templates(scope: Scope, conn: Connection) -> list[TemplateRecord]:
    """Built-in templates and the tenant's own, by name; the tenant's copy wins a name clash."""
    found = {
        name: TemplateRecord(name, policy, True, None) for name, policy in POLICY_TEMPLATES.items()
    }
    rows = conn.execute(
        select(policy_templates).where(scope.tenant_filter(policy_templates.c.tenant_id))
    ).all()
    for row in rows:
        m = row._mapping
        found[m["name"]] = TemplateRecord(m["name"], _load(m["body"]), False, m["updated_at_ms"])
    return [found[name] for name in sorted(found)]


def get_template(scope: Scope, conn: Connection, name: str) -> TemplateRecord:
    """One template by name; NotFound when neither the tenant nor the built-ins have it."""
    for record in list_templates(scope, conn):
        if record.name == name:
            return record
    raise NotFound("policy template")


def _require_tenant_wide(scope: Scope, name: str) -> None:
    # Templates belong to the whole tenant; a venue-bound caller may read, not write them.
    if not scope.all_venues:
        raise OutOfVenue("policy template", name, "*")


def put_template(
    scope: Scope, conn: Connection, name: str, policy: Policy, *, updated_by: str, now_ms: int
) -> TemplateRecord:
    """Create or replace one of the tenant's templates."""
    _require_tenant_wide(scope, name)
    values = {"body": _dump(policy), "updated_by": updated_by, "updated_at_ms": now_ms}
    result = conn.execute(
        update(policy_templates)
        .where(scope.tenant_filter(policy_templates.c.tenant_id), policy_templates.c.name == name)
        .values(values)
    )
    if result.rowcount == 0:
        conn.execute(
            policy_templates.insert().values(tenant_id=scope.tenant_id, name=name, **values)
        )
    return TemplateRecord(name, policy, False, now_ms)


def delete_template(scope: Scope, conn: Connection, name: str) -> None:
    """Remove one of the tenant's templates (built-ins cannot be removed: NotFound)."""
    _require_tenant_wide(scope, name)
    result = conn.execute(
        delete(policy_templates).where(
            scope.tenant_filter(policy_templates.c.tenant_id), policy_templates.c.name == name
        )
    )
    if result.rowcount == 0:
        raise NotFound("policy template")
