"""The daemon's local API: HTTP over a Unix socket that only its owner and group can open.

Routes: ``/status``, ``/gates``, ``/scans?limit=&gate=&reason=&ticket=``, ``/events``
(server-sent events of every decision and state change), ``POST /gates/{gate}/pause``
and ``/resume``, ``/alerts`` and ``POST /alerts/{id}/ack``, ``/conflicts`` and
``POST /conflicts/{id}/ack`` (both with an optional body ``{"by": "<who>"}``),
``/metrics`` (Prometheus),
``GET /overrides`` and ``POST /override`` (a supervisor's override of what gates do on
an expired manifest: ``{"action": "admit-with-warning"|"deny"|null, "until_ms"}`` or
``{"extend_minutes"}``, with ``by`` and ``note``).
The TUI and ``scanctl daemon status`` use it; nothing else of the daemon is reachable
from outside the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from scanctl.core import StaleManifestAction
from scanctl.daemon.events import EventBus
from scanctl.daemon.metrics import CONTENT_TYPE

__all__ = ["DaemonView", "LocalApi", "MetricsListener", "build_app"]

SOCKET_MODE = 0o660
HEARTBEAT_S = 10.0
MAX_SCANS = 1000


class DaemonView(Protocol):
    """What the local API reads from, and asks of, the running daemon."""

    bus: EventBus

    def status(self) -> dict[str, Any]: ...

    def gates(self) -> list[dict[str, Any]]: ...

    def scans(
        self, limit: int, gate: str | None, reason: str | None, ticket: str | None
    ) -> list[dict[str, Any]]: ...

    def set_paused(self, gate: str, paused: bool) -> bool: ...

    def list_alerts(self) -> list[dict[str, Any]]: ...

    def acknowledge_alert(self, alert_id: str, by: str) -> bool: ...

    def list_conflicts(self) -> list[dict[str, Any]]: ...

    def acknowledge_conflict(self, conflict_id: str, by: str) -> dict[str, Any] | None: ...

    def metrics_text(self) -> str: ...

    def list_overrides(self) -> list[dict[str, Any]]: ...

    def apply_override(
        self,
        action: StaleManifestAction | None,
        *,
        by: str,
        until_ms: int | None = None,
        extend_minutes: int | None = None,
        note: str = "",
    ) -> dict[str, Any]: ...


def build_app(daemon: DaemonView) -> Starlette:
    """The Starlette app serving one daemon."""

    async def status(request: Request) -> Response:
        return JSONResponse(daemon.status())

    async def gates(request: Request) -> Response:
        return JSONResponse({"gates": daemon.gates()})

    async def scans(request: Request) -> Response:
        query = request.query_params
        try:
            limit = max(1, min(int(query.get("limit", "50")), MAX_SCANS))
        except ValueError:
            return JSONResponse({"error": "limit must be a whole number"}, status_code=400)
        rows = daemon.scans(limit, query.get("gate"), query.get("reason"), query.get("ticket"))
        return JSONResponse({"scans": rows})

    async def pause(request: Request) -> Response:
        return _set_paused(request, True)

    async def resume(request: Request) -> Response:
        return _set_paused(request, False)

    def _set_paused(request: Request, paused: bool) -> Response:
        gate = request.path_params["gate"]
        if not daemon.set_paused(gate, paused):
            return JSONResponse({"error": f"no gate named {gate!r}"}, status_code=404)
        return JSONResponse({"gate": gate, "paused": paused})

    async def alerts(request: Request) -> Response:
        return JSONResponse({"alerts": daemon.list_alerts()})

    async def acknowledge(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        by = await _acknowledger(request)
        if isinstance(by, Response):
            return by
        if not daemon.acknowledge_alert(alert_id, by):
            return JSONResponse({"error": f"no alert {alert_id!r}"}, status_code=404)
        return JSONResponse({"id": alert_id, "acknowledged": True})

    async def conflicts(request: Request) -> Response:
        return JSONResponse({"conflicts": daemon.list_conflicts()})

    async def acknowledge_conflict(request: Request) -> Response:
        conflict_id = request.path_params["conflict_id"]
        by = await _acknowledger(request)
        if isinstance(by, Response):
            return by
        view = daemon.acknowledge_conflict(conflict_id, by)
        if view is None:
            return JSONResponse({"error": f"no conflict {conflict_id!r}"}, status_code=404)
        return JSONResponse(view)

    async def metrics(request: Request) -> Response:
        return Response(daemon.metrics_text(), media_type=CONTENT_TYPE)

    async def overrides(request: Request) -> Response:
        return JSONResponse({"overrides": daemon.list_overrides()})

    async def override(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            action = body.get("action")
            extend = body.get("extend_minutes")
            until = body.get("until_ms")
            view = daemon.apply_override(
                None if action is None else StaleManifestAction(action),
                by=str(body.get("by") or ""),
                until_ms=None if until is None else int(until),
                extend_minutes=None if extend is None else int(extend),
                note=str(body.get("note") or ""),
            )
        except ValueError as error:  # OverrideError, a bad action, a bad number, bad JSON
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(view)

    async def events(request: Request) -> Response:
        return StreamingResponse(_event_stream(daemon.bus, request), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/status", status),
            Route("/gates", gates),
            Route("/scans", scans),
            Route("/events", events),
            Route("/gates/{gate}/pause", pause, methods=["POST"]),
            Route("/gates/{gate}/resume", resume, methods=["POST"]),
            Route("/alerts", alerts),
            Route("/alerts/{alert_id}/ack", acknowledge, methods=["POST"]),
            Route("/conflicts", conflicts),
            Route("/conflicts/{conflict_id}/ack", acknowledge_conflict, methods=["POST"]),
            Route("/metrics", metrics),
            Route("/overrides", overrides),
            Route("/override", override, methods=["POST"]),
        ]
    )


async def _acknowledger(request: Request) -> str | Response:
    """Who acknowledges: the body's ``{"by": "<who>"}`` (1 to 100 characters), else
    ``local-api``; a 400 answer for a body that is not that."""
    if not await request.body():
        return "local-api"
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "the body must be JSON"}, status_code=400)
    given = body.get("by") if isinstance(body, dict) else None
    if given is not None and (not isinstance(given, str) or not 0 < len(given) <= 100):
        return JSONResponse({"error": "by: 1 to 100 characters"}, status_code=400)
    return given or "local-api"


async def _event_stream(bus: EventBus, request: Request) -> AsyncIterator[str]:
    subscription = bus.subscribe()
    try:
        yield ": connected\n\n"
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(subscription.get(), HEARTBEAT_S)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            yield f"data: {json.dumps(event, separators=(',', ':'))}\n\n"
    finally:
        subscription.close()


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: the daemon owns SIGTERM/SIGINT and drains."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LocalApi:
    """Serves build_app() on a Unix socket, mode 0660, replacing a stale socket file."""

    def __init__(self, daemon: DaemonView, path: Path) -> None:
        self.path = path
        config = uvicorn.Config(
            build_app(daemon),
            log_level="warning",
            log_config=None,  # logging is the entry point's (scanctl.logs), not uvicorn's
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self.server = _QuietServer(config)

    def _bind(self) -> socket.socket:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_socket():
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o117)  # never world-accessible, not even for an instant
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        self.path.chmod(SOCKET_MODE)
        return sock

    async def serve(self) -> None:
        await self.server.serve(sockets=[self._bind()])

    def stop(self) -> None:
        self.server.should_exit = True


class MetricsListener:
    """``GET /metrics`` alone on a TCP address, for a Prometheus server to scrape (the
    gate.toml's ``metrics_listen``; off by default). Nothing else of the local API is
    reachable there: it reads, never acts. The port is bound when built, so that a port
    in use stops the daemon at start (OSError) rather than later."""

    def __init__(self, render: Callable[[], bytes], host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, reuse_port=False)

        async def metrics(request: Request) -> Response:
            return Response(render(), media_type=CONTENT_TYPE)

        app = Starlette(routes=[Route("/metrics", metrics)])
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            log_config=None,  # logging is the entry point's (scanctl.logs), not uvicorn's
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self.server = _QuietServer(config)

    async def serve(self) -> None:
        await self.server.serve(sockets=[self.socket])

    def stop(self) -> None:
        self.server.should_exit = True
