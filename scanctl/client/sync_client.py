"""`ScanctlClient`: the blocking backend client the CLI uses (httpx.Client)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from scanctl.client import endpoints
from scanctl.client.base import DEFAULT_TIMEOUT, ClientBase
from scanctl.client.breaker import CircuitBreaker
from scanctl.client.endpoints import SCAN_DEADLINE, Call
from scanctl.client.execution import (
    BodyReader,
    RemainingTime,
    attempt,
    conclude,
    request_args,
)
from scanctl.client.models import ScanResult, ScansPage
from scanctl.client.retry import RetryPolicy

__all__ = ["ScanctlClient"]

T = TypeVar("T")


class ScanctlClient(ClientBase):
    """Talks to the scanning backend; every method is one route (see `endpoints`).

    A call's ``deadline`` (the scan's 300 ms) is shared by the phases of the exchange:
    each network wait gets what is left, and the body is checked between chunks.

    Constructor arguments as in `ClientBase`; ``transport`` replaces the network
    (tests, proxies). Errors are those of `scanctl.client.errors`; a scan denial is a `ScanResult`.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            base_url,
            auth,
            timeout=timeout,
            retry=retry,
            breaker=breaker,
            clock=clock,
            headers=headers,
        )
        self._http = httpx.Client(transport=transport, **self._http_options)

    # -- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- execution -----------------------------------------------------------------

    def call(self, call: Call[T]) -> T:
        """Execute one `Call`: retried when idempotent, deadline-bound when it has one."""
        if not self.retry.applies_to(call):
            return self._try_once(call)
        started = self._clock()
        for try_ in self.retry.tries(lambda: self._clock() - started):
            with try_:
                return self._try_once(call)
        raise AssertionError("stamina neither returned nor raised")  # pragma: no cover

    def _try_once(self, call: Call[T]) -> T:
        deadline_at = None if call.deadline is None else self._clock() + call.deadline
        with attempt(self.breaker, self.base_url, call):
            request = self._http.build_request(
                call.method, call.path, **request_args(call, self._timeout)
            )
            if deadline_at is not None:
                # Each phase waits at most what is left; the body is checked per chunk.
                request.extensions["timeout"] = RemainingTime(deadline_at, self._clock)
            response = self._http.send(request, stream=True)
            try:
                body = BodyReader(deadline_at, self._clock)
                body.check_deadline()
                for chunk in response.iter_bytes():
                    body.add(chunk)
            finally:
                response.close()
            reply = body.reply(response.status_code, response.headers)
        return conclude(call, reply, self.breaker)

    # -- routes (one line each: the Call says it all) ------------------------------

    def scan(
        self,
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
    ) -> ScanResult:
        """The backend's decision on one code (``POST /api/scan``), within ``deadline`` s.

        ``gate``, ``direction`` (``entry``/``exit``), ``zone`` and ``lane`` (the scanner's
        name on the device) say which lane read the code; ``scan_id`` (the id the gate gave
        the read: one stored scan however often it is sent) and ``timestamp`` (the read
        time, ms or ISO 8601) say which read it was. ``ScanResult.wire_decision()`` is the
        backend's Decision itself.
        """
        return self.call(
            endpoints.scan(
                qr_data,
                event_id,
                device_id,
                timestamp=timestamp,
                gate=gate,
                direction=direction,
                zone=zone,
                scan_id=scan_id,
                lane=lane,
                deadline=deadline,
            )
        )

    def generate_qr(self, ticket_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """A fresh rotating code for a ticket (``GET /api/qr/generate/{ticketId}``)."""
        return self.call(endpoints.generate_qr(ticket_id, timeout=timeout))

    def list_conflicts(
        self, event_id: str, *, since: str | None = None, timeout: float | None = None
    ) -> list[Any]:
        """Double entries of an event, with their evidence (``GET /api/conflicts``)."""
        return self.call(endpoints.list_conflicts(event_id, since=since, timeout=timeout))

    def list_scans(
        self, event_id: str, *, since: str | None = None, timeout: float | None = None
    ) -> list[Any]:
        """Recorded scans of an event (``GET /api/scans``)."""
        return self.call(endpoints.list_scans(event_id, since=since, timeout=timeout))

    def scans_page(
        self,
        event_id: str,
        *,
        since: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
    ) -> ScansPage:
        """One page of an event's recorded scans and the cursor of the next (``GET /api/scans``)."""
        call = endpoints.scans_page(
            event_id, since=since, limit=limit, cursor=cursor, timeout=timeout
        )
        return self.call(call)

    def register_device(
        self, registration: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Register a device (``POST /api/devices/register``); never retried."""
        return self.call(endpoints.register_device(registration, timeout=timeout))

    def list_devices(self, *, timeout: float | None = None) -> list[Any]:
        """The devices the caller may see (``GET /api/devices``)."""
        return self.call(endpoints.list_devices(timeout=timeout))

    def get_device(self, device_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """One device (``GET /api/devices/{id}``)."""
        return self.call(endpoints.get_device(device_id, timeout=timeout))

    def revoke_device(self, device_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Revoke a device at once (``DELETE /api/devices/{id}``)."""
        return self.call(endpoints.revoke_device(device_id, timeout=timeout))

    def get_policy(self, event_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """An event's policy (``GET /api/policies/{eventId}``)."""
        return self.call(endpoints.get_policy(event_id, timeout=timeout))

    def put_policy(
        self, event_id: str, policy: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Replace an event's policy (``PUT /api/policies/{eventId}``)."""
        return self.call(endpoints.put_policy(event_id, policy, timeout=timeout))

    def me(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Who the backend takes this token for (``GET /api/me``): checks a token."""
        return self.call(endpoints.me(timeout=timeout))

    def policy_templates(self, *, timeout: float | None = None) -> list[Any]:
        """Built-in and the tenant's policy templates (``GET /api/policy-templates``)."""
        return self.call(endpoints.policy_templates(timeout=timeout))

    def get_policy_template(self, name: str, *, timeout: float | None = None) -> dict[str, Any]:
        """One policy template (``GET /api/policy-templates/{name}``)."""
        return self.call(endpoints.get_policy_template(name, timeout=timeout))

    def pull_manifest(
        self,
        event_id: str,
        *,
        device_id: str | None = None,
        since: int | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """The signed manifest, or the delta after ``since`` (``GET /api/offline/manifest``)."""
        return self.call(
            endpoints.pull_manifest(event_id, device_id=device_id, since=since, timeout=timeout)
        )

    def reconcile(
        self, device_id: str, scans: Sequence[Mapping[str, Any]], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Push offline scans (``POST /api/offline/reconcile``); per-scan results."""
        return self.call(endpoints.reconcile(device_id, scans, timeout=timeout))

    def report_overrides(
        self,
        device_id: str,
        overrides: Sequence[Mapping[str, Any]],
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Report a gate's stale-manifest overrides (``POST /api/offline/overrides``)."""
        return self.call(endpoints.report_overrides(device_id, overrides, timeout=timeout))

    def create_event(
        self, event: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Create or update a catalog event (``POST /api/catalog/events``)."""
        return self.call(endpoints.create_event(event, timeout=timeout))

    def list_events(
        self, *, venue_id: str | None = None, timeout: float | None = None
    ) -> list[Any]:
        """Catalog events the caller may see (``GET /api/catalog/events``)."""
        return self.call(endpoints.list_events(venue_id=venue_id, timeout=timeout))

    def get_event(self, event_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """One catalog event (``GET /api/catalog/events/{eventId}``)."""
        return self.call(endpoints.get_event(event_id, timeout=timeout))

    def list_tickets(
        self,
        event_id: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One page of an event's tickets: ``{"tickets": [...], "next": id or None}``."""
        return self.call(
            endpoints.list_tickets(event_id, after=after, limit=limit, timeout=timeout)
        )

    def upsert_tickets(
        self,
        event_id: str,
        tickets: Sequence[Mapping[str, Any]],
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Create or update tickets in bulk (``POST /api/catalog/events/{eventId}/tickets``)."""
        return self.call(endpoints.upsert_tickets(event_id, tickets, timeout=timeout))

    def health(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Liveness (``GET /health``)."""
        return self.call(endpoints.health(timeout=timeout))

    def ready(self, *, timeout: float | None = None) -> bool:
        """Readiness (``GET /ready``): False while the backend starts or drains."""
        return self.call(endpoints.ready(timeout=timeout))
