"""A tiny stand-in for the scanning backend, served by a real uvicorn on 127.0.0.1.

It plays the routes of DESIGN.md with canned answers, records every request, and
can be told what to answer next on a route: an error status, a Retry-After, a
delay. Tests drive the real client against it; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

DEFAULT = object()
"""As a scripted body: answer what the route normally answers (after the delay)."""


@dataclass(frozen=True)
class Answer:
    """A scripted answer: ``body`` is JSON unless it is bytes (or `DEFAULT`)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0
    """When set: send the body in 8-byte pieces, this many seconds apart."""


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_path: bytes = b""

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    def json(self) -> Any:
        return json.loads(self.body)


class FakeBackend:
    """Routes, a request log and a per-route script, safe to drive from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._scripts: dict[str, deque[Answer]] = {}
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._handle,
                    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
                )
            ]
        )

    # -- the test's side ---------------------------------------------------------------

    def script(self, route: str, *answers: Answer) -> None:
        """Answer the next requests on ``route`` ("POST /api/scan") with these, in order."""
        with self._lock:
            self._scripts.setdefault(route, deque()).extend(answers)

    def seen(self, route: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self._seen if route is None or s.route == route]

    def count(self, route: str | None = None) -> int:
        return len(self.seen(route))

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
            self._scripts.clear()

    # -- the server's side ----------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        seen = Seen(
            request.method,
            request.url.path,
            dict(request.query_params),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            request.scope.get("raw_path", b""),
        )
        with self._lock:
            self._seen.append(seen)
            script = self._scripts.get(seen.route)
            answer = script.popleft() if script else None
        if answer is None:
            answer = _default(seen)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.body is DEFAULT:
            answer = replace(_default(seen), trickle=answer.trickle)
        if isinstance(answer.body, bytes):
            content = answer.body
            media = "application/octet-stream"
        elif answer.body is None:
            content, media = b"", None
        else:
            content, media = json.dumps(answer.body).encode(), "application/json"
        if answer.trickle:
            return StreamingResponse(
                _pieces(content, answer.trickle), answer.status, answer.headers, media
            )
        return Response(content, answer.status, headers=answer.headers, media_type=media)


async def _pieces(content: bytes, interval: float) -> AsyncIterator[bytes]:
    for start in range(0, len(content), 8):
        yield content[start : start + 8]
        await asyncio.sleep(interval)


def _default(seen: Seen) -> Answer:
    """What the real backend would answer to a good request."""
    m, parts = seen.method, seen.path.strip("/").split("/")
    match m, parts:
        case "POST", ["api", "scan"]:
            request = seen.json()
            # The scan is stored under the gate's id when it names one, else a new one.
            stored = {
                "scanId": request.get("scanId") or str(uuid.uuid4()),
                "decidedAt": "2026-11-28T19:05:00.123Z",
            }
            if request.get("qrData") == "already-used":
                return Answer(
                    body={
                        "allowed": False,
                        "reason": "ALREADY_SCANNED",
                        "message": "This ticket was already admitted.",
                        "firstScannedAt": "2026-11-28T19:02:11Z",
                        "gate": "north-1",
                        **stored,
                    }
                )
            return Answer(
                body={
                    "allowed": True,
                    "reason": "ADMITTED",
                    "message": "Welcome: ticket admitted.",
                    "ticketId": "0badcafe",
                    **stored,
                }
            )
        case "GET", ["api", "qr", "generate", ticket_id]:
            return Answer(body={"ticketId": ticket_id, "qrData": f"{ticket_id}:1:2:3"})
        case "POST", ["api", "devices", "register"]:
            return Answer(201, {"id": "dev-1", **seen.json()})
        case "GET", ["api", "devices"]:
            return Answer(body=[{"id": "dev-1"}, {"id": "dev-2"}])
        case "GET", ["api", "devices", device_id]:
            return Answer(body={"id": device_id, "status": "ACTIVE"})
        case "DELETE", ["api", "devices", device_id]:
            return Answer(body={"deviceId": device_id, "status": "REVOKED"})
        case "GET", ["api", "policy-templates"]:
            return Answer(body=[{"name": "standard"}, {"name": "festival-reentry"}])
        case "GET", ["api", "policy-templates", name]:
            return Answer(body={"name": name, "policy": {}, "builtIn": True})
        case "GET", ["api", "policies", event_id]:
            return Answer(body={"eventId": event_id, "duplicateWindowSeconds": 600})
        case "PUT", ["api", "policies", event_id]:
            return Answer(body={"eventId": event_id, **seen.json()})
        case "GET", ["api", "offline", "manifest", event_id]:
            return Answer(body=b"\x00SCANCTL-MANIFEST\xff" + event_id.encode())
        case "POST", ["api", "offline", "reconcile"]:
            scans = seen.json()["scans"]
            return Answer(body={"results": [{"id": s["id"], "status": "accepted"} for s in scans]})
        case "POST", ["api", "catalog", "events"]:
            return Answer(201, seen.json())
        case "GET", ["api", "catalog", "events"]:
            return Answer(body=[{"id": "e1", "venueId": seen.query.get("venueId")}])
        case "GET", ["api", "catalog", "events", event_id]:
            return Answer(body={"id": event_id})
        case "GET", ["api", "catalog", "events", event_id, "tickets"]:
            return Answer(body={"tickets": [{"id": "0badcafe"}], "next": None, **seen.query})
        case "POST", ["api", "catalog", "events", event_id, "tickets"]:
            return Answer(body={"eventId": event_id, "upserted": len(seen.json()["tickets"])})
        case "GET", ["api", "scans"]:
            return Answer(body={"scans": [{"eventId": seen.query.get("eventId")}]})
        case "GET", ["health"]:
            return Answer(body={"status": "ok"})
        case "GET", ["ready"]:
            return Answer(body={"status": "ready"})
    return Answer(404, {"error": {"code": "NOT_FOUND", "message": "no such route"}})


class ServerThread:
    """uvicorn serving an ASGI app on a free 127.0.0.1 port, in a thread."""

    def __init__(self, app: Any, *, lifespan: str = "off") -> None:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
        # and without it every answer stalls ~40 ms on Nagle + delayed ACK.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_level="critical",
            lifespan=lifespan,
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def slow(delay: float) -> Answer:
    """The route's normal answer, ``delay`` seconds late."""
    return Answer(body=DEFAULT, delay=delay)


def trickling(interval: float) -> Answer:
    """The route's normal answer, its body sent a few bytes at a time."""
    return Answer(body=DEFAULT, trickle=interval)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- fixtures (imported by the conftest of each suite that drives a gate or client at it) --


@pytest.fixture(scope="session")
def _fake_server() -> Iterator[tuple[FakeBackend, str]]:
    fake = FakeBackend()
    server = ServerThread(fake.app)
    server.start()
    yield fake, server.url
    server.stop()


@pytest.fixture
def fake(_fake_server: tuple[FakeBackend, str]) -> FakeBackend:
    """The stand-in backend, its request log and scripts reset for this test."""
    backend, _ = _fake_server
    backend.reset()
    return backend


@pytest.fixture
def url(_fake_server: tuple[FakeBackend, str]) -> str:
    """Where the stand-in backend listens."""
    return _fake_server[1]
