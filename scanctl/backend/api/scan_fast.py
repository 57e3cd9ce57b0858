"""The fast path of `POST /api/scan`: the common scan without the framework's per-request work.

A scan through the whole stack passes five middleware wrappers, FastAPI's router, its
dependency resolution and its body handling: together about three times the cost of
deciding and recording the scan. This outermost ASGI layer answers the *ordinary* scan
itself — a token already verified (`TokenCache`: people's tokens, and device tokens of
a device this process knows to be active), a JSON body that validates as `ScanIn` —
through the same `ScanPipeline` the route calls, and does for it what the middleware
would have done: the same metrics (route ``/api/scan``), the slow-request log line, the
deadline (504), the body limit. A `ScanRefused` is answered here as the route would
(``{"detail": …}`` with its status).

Everything else goes through the full application unchanged, before anything was
recorded or counted: a token seen for the first time, a malformed body (FastAPI's 422
with field details), any other method or path. The body read here is replayed to the
application then, so it sees the very request the client sent.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanctl.backend.api.errors import DEVICE_HEADER
from scanctl.backend.api.scan import ScanIn, scan_request
from scanctl.backend.auth.permissions import Permission, allowed
from scanctl.backend.auth.principal import Principal, PrincipalKind
from scanctl.backend.compression import MINIMUM_SIZE
from scanctl.backend.metrics import HttpMetrics
from scanctl.backend.scanning.auth import TokenCache
from scanctl.backend.scanning.cache import CacheMiss, memory_only
from scanctl.backend.scanning.pipeline import ScanAnswer, ScanPipeline, ScanRefused
from scanctl.backend.text_guard import SCANNED_PAYLOAD, might_hold_unsafe_text, unsafe_text

__all__ = ["ScanFastPath"]

_PATH = "/api/scan"
_GZIP_MINIMUM = MINIMUM_SIZE  # as the app's MeteredGZip
_DEVICE_HEADER = DEVICE_HEADER.lower().encode("latin-1")
_PAYLOAD = frozenset({SCANNED_PAYLOAD})  # stored safely by the pipeline, never refused


class ScanFastPath:
    """Outermost ASGI layer: serves ordinary scans directly, passes everything else on."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        pipeline: ScanPipeline,
        tokens: TokenCache,
        clock: Callable[[], int],
        metrics: HttpMetrics,
        max_body_bytes: int,
        timeout_seconds: float,
    ) -> None:
        self.app = app
        self.pipeline = pipeline
        self.tokens = tokens
        self.clock = clock
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self._requests = metrics.requests.labels("POST", _PATH, "200")
        self._latency = metrics.latency.labels("POST", _PATH, "200")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != _PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        principal, accept_gzip = self._eligible(scope)
        if principal is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        in_flight = self.metrics.in_flight
        in_flight.inc()
        handled = False
        failed = True  # until proven otherwise: an escaping exception is a 500
        messages: list[Message] = []
        try:
            deadline = asyncio.timeout(self.timeout_seconds)
            try:
                async with deadline:
                    messages, body = await self._read_body(receive)
                    try:
                        answer = None if body is None else await self._scan(principal, body, scope)
                        if answer is not None:
                            self.metrics.fast_scans.labels(principal.kind.value).inc()
                    except ScanRefused as refused:
                        handled = True
                        status = refused.status
                        await self._respond(
                            send, refused.body(), refused.headers, accept_gzip, status=status
                        )
                    else:
                        if answer is not None:
                            handled = True
                            status = 200
                            await self._respond(send, answer.body, answer.headers, accept_gzip)
            except TimeoutError:
                if not deadline.expired():
                    raise
                handled = True
                status = 504
                detail = f"request took longer than {self.timeout_seconds:g} s and was abandoned"
                payload = json.dumps({"detail": detail}, separators=(",", ":")).encode()
                await self._respond(send, payload, {}, accept_gzip, status=504)
            failed = False
        finally:
            in_flight.dec()
            if handled or failed:
                self._observe(scope, status, time.perf_counter() - started)
        if not handled:
            await self.app(scope, _replay(messages, receive), send)

    def _eligible(self, scope: Scope) -> tuple[Principal | None, bool]:
        """The caller when the request may take the fast path, and whether it takes gzip."""
        authorization = content_type = length = None
        accept_gzip = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name == b"content-type":
                if content_type is None:
                    content_type = value
            elif name == b"content-length":
                if length is not None:
                    return None, False  # repeated: the body-size layer decides
                length = value
            elif name == b"accept-encoding":
                accept_gzip = accept_gzip or b"gzip" in value
            elif name == b"transfer-encoding":
                return None, False
        if authorization is None or length is None or content_type is None:
            return None, False
        if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
            return None, False
        try:
            declared = int(length)
        except ValueError:
            return None, False
        if not 0 < declared <= self.max_body_bytes:
            return None, False
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None, False
        principal = self.tokens.get(token, self.clock())
        if principal is None or not allowed(principal, Permission.SCAN):
            return None, False
        if principal.kind is PrincipalKind.DEVICE and not self._active(principal):
            return None, False  # the route reads its status and answers (401)
        return principal, accept_gzip

    def _active(self, device: Principal) -> bool:
        """Whether the scan path's device cache holds the device as active (no I/O)."""
        assert device.device_id is not None
        try:
            with memory_only():
                facts = self.pipeline.service.device(device.tenant_id, device.device_id)
        except CacheMiss:
            return False
        return facts is not None and facts.active

    async def _read_body(self, receive: Receive) -> tuple[list[Message], bytes | None]:
        """The messages read and the whole body, or None when the application must see it."""
        messages: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return messages, None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return messages, b"".join(chunks)

    async def _scan(self, principal: Principal, raw: bytes, scope: Scope) -> ScanAnswer | None:
        """Decide and record an ordinary scan; None (nothing done) for any other request."""
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        if might_hold_unsafe_text(raw) and unsafe_text(data, kept=_PAYLOAD) is not None:
            return None  # the application's JsonTextGuard answers it, field named
        try:
            body = ScanIn.model_validate(data)
        except ValidationError:
            return None
        request = scan_request(body, principal, _header(scope, _DEVICE_HEADER))
        return await self.pipeline.scan(request)

    async def _respond(
        self,
        send: Send,
        payload: bytes,
        extra: dict[str, str],
        accept_gzip: bool,
        status: int = 200,
    ) -> None:
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
        if len(payload) >= _GZIP_MINIMUM:  # as MeteredGZip would
            headers.append((b"vary", b"Accept-Encoding"))
            if accept_gzip:
                raw = len(payload)
                payload = gzip.compress(payload, compresslevel=9)
                headers.append((b"content-encoding", b"gzip"))
                self.metrics.compressed(_PATH, raw, len(payload))
        headers.append((b"content-length", str(len(payload)).encode()))
        headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        if status == 200:  # the common case, through labels bound once
            self._requests.inc()
            self._latency.observe(elapsed)
            self.metrics.log_if_slow(scope["method"], _PATH, status, elapsed)
        else:
            self.metrics.observe(scope["method"], _PATH, status, elapsed)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out the messages already read, then reads on."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
