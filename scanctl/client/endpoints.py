"""The backend's routes as data: one `Call` per request, built here and nowhere else.

A `Call` says what to send (method, path, query, JSON body), whether repeating it
is safe, what time it may take, and how to read the answer. The sync and the async
client both execute `Call`s; neither knows any route.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from scanctl.client import responses
from scanctl.client.models import ScanResult, ScansPage
from scanctl.client.responses import Reply

__all__ = [
    "SCAN_DEADLINE",
    "Call",
    "create_event",
    "generate_qr",
    "get_device",
    "get_event",
    "get_policy",
    "get_policy_template",
    "health",
    "list_conflicts",
    "list_devices",
    "list_events",
    "list_scans",
    "list_tickets",
    "me",
    "policy_templates",
    "pull_manifest",
    "put_policy",
    "ready",
    "reconcile",
    "register_device",
    "revoke_device",
    "scan",
    "scans_page",
    "upsert_tickets",
]

T = TypeVar("T")

SCAN_DEADLINE = 0.3
"""Seconds an online-first gate waits for the backend's decision before deciding offline."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to the backend and how to read its answer.

    ``idempotent`` calls may be retried. ``timeout`` (seconds) overrides the client's
    timeout for each network wait; ``deadline`` (seconds) bounds the whole call, is
    never retried, and wins over ``timeout``. ``accept`` lists error statuses that
    ``parse`` handles itself instead of them being raised (e.g. 503 on /ready).
    """

    method: str
    path: str
    parse: Callable[[Reply], T]
    params: Mapping[str, str] | None = None
    json: Any = None
    idempotent: bool = False
    timeout: float | None = None
    deadline: float | None = None
    accept: frozenset[int] = frozenset()


def _seg(value: str) -> str:
    """One path segment, escaped so an id can never change the route."""
    return quote(str(value), safe="")


def _is_ready(reply: Reply) -> bool:
    return 200 <= reply.status < 300


# -- scanning ------------------------------------------------------------------------


def scan(
    qr_data: str,
    event_id: str,
    device_id: str,
    *,
    timestamp: datetime | str | int | None = None,
    gate: str | None = None,
    direction: str | None = None,
    zone: str | None = None,
    scan_id: str | None = None,
    lane: str | None = None,
    deadline: float = SCAN_DEADLINE,
) -> Call[ScanResult]:
    """``POST /api/scan``: the backend's authoritative decision. Never retried.

    ``scan_id`` is the id the gate gave the read (the backend stores the scan under it
    once, however often it arrives), ``timestamp`` the read time (ms or ISO 8601 with a
    zone), ``lane`` the scanner's name on its device.
    """
    body: dict[str, Any] = {"qrData": qr_data, "eventId": event_id, "deviceId": device_id}
    if scan_id is not None:
        body["scanId"] = scan_id
    if timestamp is not None:
        body["timestamp"] = timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp
    if lane is not None:
        body["lane"] = lane
    if gate is not None:
        body["gate"] = gate
    if direction is not None:
        body["direction"] = direction
    if zone is not None:
        body["zone"] = zone
    return Call("POST", "/api/scan", responses.scan_result, json=body, deadline=deadline)


def generate_qr(ticket_id: str, *, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``GET /api/qr/generate/{ticketId}``: a fresh rotating code for a ticket."""
    return Call(
        "GET",
        f"/api/qr/generate/{_seg(ticket_id)}",
        responses.json_object,
        idempotent=True,
        timeout=timeout,
    )


def list_scans(
    event_id: str, *, since: str | None = None, timeout: float | None = None
) -> Call[list[Any]]:
    """``GET /api/scans?eventId=&since=``: recorded scans of an event."""
    return _event_listing("/api/scans", "scans", event_id, since, timeout)


def list_conflicts(
    event_id: str, *, since: str | None = None, timeout: float | None = None
) -> Call[list[Any]]:
    """``GET /api/conflicts?eventId=&since=``: double entries of an event (a device gets
    those that involve its own scans)."""
    return _event_listing("/api/conflicts", "conflicts", event_id, since, timeout)


def _event_listing(
    path: str, key: str, event_id: str, since: str | None, timeout: float | None
) -> Call[list[Any]]:
    """``GET path?eventId=&since=`` answering ``{key: [...]}``."""
    params = {"eventId": event_id}
    if since is not None:
        params["since"] = since
    return Call(
        "GET",
        path,
        lambda r: responses.json_list(r, key),
        params=params,
        idempotent=True,
        timeout=timeout,
    )


def scans_page(
    event_id: str,
    *,
    since: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    timeout: float | None = None,
) -> Call[ScansPage]:
    """``GET /api/scans?eventId=&since=&limit=&cursor=``: one page and the next cursor."""
    params = {"eventId": event_id}
    if since is not None:
        params["since"] = since
    if limit is not None:
        params["limit"] = str(limit)
    if cursor is not None:
        params["cursor"] = cursor
    return Call(
        "GET", "/api/scans", responses.scans_page, params=params, idempotent=True, timeout=timeout
    )


# -- devices -------------------------------------------------------------------------


def register_device(
    registration: Mapping[str, Any], *, timeout: float | None = None
) -> Call[dict[str, Any]]:
    """``POST /api/devices/register``: not idempotent (a second call is a second device)."""
    return Call(
        "POST",
        "/api/devices/register",
        responses.json_object,
        json=dict(registration),
        timeout=timeout,
    )


def list_devices(*, timeout: float | None = None) -> Call[list[Any]]:
    """``GET /api/devices``."""
    return Call(
        "GET",
        "/api/devices",
        lambda r: responses.json_list(r, "devices"),
        idempotent=True,
        timeout=timeout,
    )


def get_device(device_id: str, *, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``GET /api/devices/{id}``."""
    return Call(
        "GET",
        f"/api/devices/{_seg(device_id)}",
        responses.json_object,
        idempotent=True,
        timeout=timeout,
    )


def revoke_device(device_id: str, *, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``DELETE /api/devices/{id}``: revoke at once; the revoked device (or {} on a 204)."""
    return Call(
        "DELETE",
        f"/api/devices/{_seg(device_id)}",
        responses.json_object,
        idempotent=True,
        timeout=timeout,
    )


# -- policies ------------------------------------------------------------------------


def get_policy(event_id: str, *, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``GET /api/policies/{eventId}``."""
    return Call(
        "GET",
        f"/api/policies/{_seg(event_id)}",
        responses.json_object,
        idempotent=True,
        timeout=timeout,
    )


def put_policy(
    event_id: str, policy: Mapping[str, Any], *, timeout: float | None = None
) -> Call[dict[str, Any]]:
    """``PUT /api/policies/{eventId}``: replace the event's policy."""
    return Call(
        "PUT",
        f"/api/policies/{_seg(event_id)}",
        responses.json_object,
        json=dict(policy),
        idempotent=True,
        timeout=timeout,
    )


def me(*, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``GET /api/me``: who the backend takes the token for (checks it)."""
    return Call("GET", "/api/me", responses.json_object, idempotent=True, timeout=timeout)


def policy_templates(*, timeout: float | None = None) -> Call[list[Any]]:
    """``GET /api/policy-templates``: built-in templates and the tenant's own."""
    return Call(
        "GET",
        "/api/policy-templates",
        lambda r: responses.json_list(r, "templates"),
        idempotent=True,
        timeout=timeout,
    )


def get_policy_template(name: str, *, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``GET /api/policy-templates/{name}``: one template."""
    return Call(
        "GET",
        f"/api/policy-templates/{_seg(name)}",
        responses.json_object,
        idempotent=True,
        timeout=timeout,
    )


# -- offline -------------------------------------------------------------------------


def pull_manifest(
    event_id: str,
    *,
    device_id: str | None = None,
    since: int | None = None,
    timeout: float | None = None,
) -> Call[bytes]:
    """``GET /api/offline/manifest/{eventId}``: the signed manifest (or delta) as bytes."""
    params: dict[str, str] = {}
    if device_id is not None:
        params["deviceId"] = device_id
    if since is not None:
        params["since"] = str(since)
    return Call(
        "GET",
        f"/api/offline/manifest/{_seg(event_id)}",
        responses.raw_bytes,
        params=params or None,
        idempotent=True,
        timeout=timeout,
    )


def reconcile(
    device_id: str, scans: Sequence[Mapping[str, Any]], *, timeout: float | None = None
) -> Call[dict[str, Any]]:
    """``POST /api/offline/reconcile``: idempotent on each scan's id, so safe to retry."""
    return Call(
        "POST",
        "/api/offline/reconcile",
        responses.json_object,
        json={"deviceId": device_id, "scans": [dict(s) for s in scans]},
        idempotent=True,
        timeout=timeout,
    )


def report_overrides(
    device_id: str, overrides: Sequence[Mapping[str, Any]], *, timeout: float | None = None
) -> Call[dict[str, Any]]:
    """``POST /api/offline/overrides``: a gate's stale-manifest overrides, recorded once each."""
    return Call(
        "POST",
        "/api/offline/overrides",
        responses.json_object,
        json={"deviceId": device_id, "overrides": [dict(o) for o in overrides]},
        idempotent=True,
        timeout=timeout,
    )


# -- catalog -------------------------------------------------------------------------


def create_event(event: Mapping[str, Any], *, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``POST /api/catalog/events``: an upsert on the event's id, so safe to retry."""
    return Call(
        "POST",
        "/api/catalog/events",
        responses.json_object,
        json=dict(event),
        idempotent=True,
        timeout=timeout,
    )


def list_events(*, venue_id: str | None = None, timeout: float | None = None) -> Call[list[Any]]:
    """``GET /api/catalog/events?venueId=``: events the caller may see, soonest first."""
    return Call(
        "GET",
        "/api/catalog/events",
        lambda r: responses.json_list(r, "events"),
        params=None if venue_id is None else {"venueId": venue_id},
        idempotent=True,
        timeout=timeout,
    )


def get_event(event_id: str, *, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``GET /api/catalog/events/{eventId}``."""
    return Call(
        "GET",
        f"/api/catalog/events/{_seg(event_id)}",
        responses.json_object,
        idempotent=True,
        timeout=timeout,
    )


def list_tickets(
    event_id: str,
    *,
    after: str | None = None,
    limit: int | None = None,
    timeout: float | None = None,
) -> Call[dict[str, Any]]:
    """``GET /api/catalog/events/{eventId}/tickets``: one page, ``{"tickets", "next"}``."""
    params: dict[str, str] = {}
    if after is not None:
        params["after"] = after
    if limit is not None:
        params["limit"] = str(limit)
    return Call(
        "GET",
        f"/api/catalog/events/{_seg(event_id)}/tickets",
        responses.json_object,
        params=params or None,
        idempotent=True,
        timeout=timeout,
    )


def upsert_tickets(
    event_id: str, tickets: Sequence[Mapping[str, Any]], *, timeout: float | None = None
) -> Call[dict[str, Any]]:
    """``POST /api/catalog/events/{eventId}/tickets``: bulk upsert, safe to retry."""
    return Call(
        "POST",
        f"/api/catalog/events/{_seg(event_id)}/tickets",
        responses.json_object,
        json={"tickets": [dict(t) for t in tickets]},
        idempotent=True,
        timeout=timeout,
    )


# -- service -------------------------------------------------------------------------


def health(*, timeout: float | None = None) -> Call[dict[str, Any]]:
    """``GET /health``: liveness."""
    return Call("GET", "/health", responses.json_object, idempotent=True, timeout=timeout)


def ready(*, timeout: float | None = None) -> Call[bool]:
    """``GET /ready``: True when serving, False while starting or draining (503). One try."""
    return Call("GET", "/ready", _is_ready, timeout=timeout, accept=frozenset({503}))
