"""Request ids: taken from ``X-Request-ID`` (or made), echoed, and in every log line.

The outermost layer of the app: it sets `scanctl.logs.request_id` for the request's
task, so that every record logged while handling it (the access line, an INVALID's
cause, a slow-request line) carries the id, and adds the header to the answer. An
incoming id is kept when it is 1 to 128 characters of ``[A-Za-z0-9._:/+=-]`` (what
proxies and tracing systems send); anything else is replaced by a fresh one rather
than written to the log as the caller sent it.
"""

from __future__ import annotations

import itertools
import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanctl.logs import request_id

__all__ = ["HEADER", "RequestIdMiddleware", "usable_request_id"]

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode("latin-1")
_USABLE = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")
# Made ids: 16 random hex per process, then a counter — unique across instances and
# restarts like a UUID, without a system call per request (uuid4 costs ~20 µs here).
_PROCESS = os.urandom(8).hex()
_SEQUENCE = itertools.count(1)


def usable_request_id(value: bytes | None) -> str:
    """The caller's id when it is safe to log and echo, else a fresh one (32 hex)."""
    if value is not None and _USABLE.fullmatch(value):
        return value.decode("ascii")
    return f"{_PROCESS}{next(_SEQUENCE) & 0xFFFFFFFFFFFFFFFF:016x}"


class RequestIdMiddleware:
    """Outermost ASGI layer: one id per HTTP request, in the log and in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == _HEADER_KEY:
                given = value
                break
        rid = usable_request_id(given)
        echoed = (_HEADER_KEY, rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
