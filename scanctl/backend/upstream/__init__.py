"""Ticket and event data from the platform's services over HTTP, instead of the local catalog.

Set ``TICKET_SERVICE_URL`` and ``EVENT_SERVICE_URL`` (with ``UPSTREAM_TOKEN`` and
``UPSTREAM_TENANT``) and the scan path reads that tenant's events and tickets from the
services: cached (tickets 5 min, events 15 min), each service behind its own circuit
breaker, the last good data used while a service is down. Devices, policies, nonces and
scans stay in this backend's database; events are copied into it (`mirror`).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from scanctl.backend.db.engine import Database
from scanctl.backend.settings import Settings
from scanctl.backend.upstream.catalog import UpstreamCatalog
from scanctl.backend.upstream.client import ServiceClient
from scanctl.backend.upstream.errors import UpstreamError, UpstreamUnavailable
from scanctl.backend.upstream.metrics import UpstreamMetrics
from scanctl.backend.upstream.mirror import EventMirror

__all__ = [
    "ServiceClient",
    "UpstreamCatalog",
    "UpstreamError",
    "UpstreamMetrics",
    "UpstreamUnavailable",
    "build_upstream",
]


def build_upstream(
    settings: Settings,
    database: Database,
    clock: Callable[[], int],
    registry: CollectorRegistry,
) -> UpstreamCatalog | None:
    """The upstream catalog the settings ask for, or None (the local catalog is used)."""
    if (
        settings.ticket_service_url is None
        or settings.event_service_url is None
        or settings.upstream_token is None
        or settings.upstream_tenant is None
    ):
        return None
    metrics = UpstreamMetrics(registry)
    token = settings.upstream_token.get_secret_value()

    def client(name: str, url: str) -> ServiceClient:
        return ServiceClient(
            name,
            url,
            token,
            timeout_seconds=settings.upstream_timeout_seconds,
            failure_threshold=settings.upstream_failure_threshold,
            reset_seconds=settings.upstream_reset_seconds,
            metrics=metrics,
        )

    return UpstreamCatalog(
        settings.upstream_tenant,
        events=client("events", settings.event_service_url),
        tickets=client("tickets", settings.ticket_service_url),
        mirror=EventMirror(database, clock),
        clock=clock,
        event_ttl_ms=int(settings.upstream_event_ttl_seconds * 1000),
        ticket_ttl_ms=int(settings.upstream_ticket_ttl_seconds * 1000),
        metrics=metrics,
    )
