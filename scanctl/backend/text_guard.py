"""Hostile text in JSON bodies: a NUL or a lone UTF-16 surrogate is refused, field named.

JSON may spell both (``"\\u0000"``, ``"\\ud800"``) and Python decodes them into a str,
but neither survives the way out: PostgreSQL text refuses NUL, and a lone surrogate
cannot be encoded as UTF-8 (not in SQLite, not in a JSON answer). Refused at the door,
on SQLite and PostgreSQL alike, with a 422 that names the field, before any route runs;
a reconciliation upload refuses only the item that holds one (`unsafe_text`).

One field keeps its NULs: a scanned payload (``qrData``) is whatever the scanner read,
garbage included, and garbage gets a decision (INVALID), not an HTTP error. It is
stored through `storable_text`, which bounds it and replaces what cannot be stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "SCANNED_PAYLOAD",
    "JsonTextGuard",
    "TextProblem",
    "might_hold_unsafe_text",
    "storable_text",
    "unsafe_text",
]

SCANNED_PAYLOAD = "qrData"
"""The field that holds what a scanner read: a NUL in it is stored safely
(`storable_text`), not refused."""


def storable_text(text: str, limit: int) -> str:
    """Storable text: at most ``limit`` characters, valid UTF-8, no NUL (PostgreSQL
    refuses it in TEXT); what cannot be stored becomes U+FFFD."""
    cut = text[:limit]
    return cut.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


# Only a body that spells one of them as an escape can hold one (raw control bytes and
# invalid UTF-8 are refused by the JSON parser itself): a byte search keeps the check
# off the hot path.
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89abAB][0-9a-fA-F]{2}|[dD][c-fC-F][0-9a-fA-F]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")
_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def might_hold_unsafe_text(raw: bytes) -> bool:
    """Whether a JSON body spells a NUL or a surrogate escape (cheap; may say yes wrongly)."""
    return _SUSPECT.search(raw) is not None


class TextProblem(tuple[tuple[str | int, ...], str]):
    """Where (a JSON path) and what: the first unsafe string of a document."""

    __slots__ = ()

    @property
    def loc(self) -> tuple[str | int, ...]:
        return self[0]

    @property
    def message(self) -> str:
        return self[1]

    def field(self) -> str:
        """The path as text, e.g. ``scans.3.qrData``."""
        return ".".join(str(part) for part in self.loc) or "body"


def _problem(text: str, *, nul_kept: bool = False) -> str | None:
    if "\x00" in text and not nul_kept:
        return "contains a NUL character (\\u0000), which is not accepted in text"
    if _SURROGATE.search(text) is not None:
        return "contains a lone UTF-16 surrogate, which is not valid Unicode text"
    return None


def unsafe_text(
    value: Any, loc: Iterable[str | int] = (), *, kept: frozenset[str] = frozenset()
) -> TextProblem | None:
    """The first string (or object key) of decoded JSON that holds a NUL or a lone
    surrogate; in the top-level fields named in ``kept`` a NUL is let through (their
    route stores them through `storable_text`)."""
    path = tuple(loc)
    if isinstance(value, str):
        problem = _problem(value)
        return None if problem is None else TextProblem((path, problem))
    if isinstance(value, dict):
        for key, item in value.items():
            if key in kept and isinstance(item, str):
                problem = _problem(item, nul_kept=True)
                if problem is not None:
                    return TextProblem(((*path, key), problem))
                continue
            problem = _problem(key)
            if problem is not None:
                return TextProblem(((*path, _printable(key)), f"a key {problem}"))
            found = unsafe_text(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unsafe_text(item, (*path, index))
            if found is not None:
                return found
    return None


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


class JsonTextGuard:
    """Answers 422 for a JSON body holding a NUL or a lone surrogate, naming the field.

    Paths in ``per_item`` are passed through: their routes refuse the bad items alone.
    In the bodies of ``scan_paths`` the top-level scanned payload is left to the route.
    """

    def __init__(
        self,
        app: ASGIApp,
        per_item: frozenset[str] = frozenset(),
        scan_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.per_item = per_item
        self.scan_paths = scan_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in_url(scope)
        if where is not None:
            await _refuse(scope, receive, send, TextProblem(((where,), _problem("\x00") or "")))
            return
        if scope["method"] not in _METHODS or scope["path"] in self.per_item:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            try:
                message = await receive()
            except HTTPException as refused:  # the body limit, while streaming: 413
                response = JSONResponse(
                    {"detail": refused.detail},
                    status_code=refused.status_code,
                    headers={**(refused.headers or {}), "Connection": "close"},
                )
                await response(scope, receive, send)
                return
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if might_hold_unsafe_text(body):
            try:
                document = json.loads(body)
            except (ValueError, RecursionError):
                document = None  # not JSON: the route answers as it always has
            kept = frozenset({SCANNED_PAYLOAD}) if scope["path"] in self.scan_paths else frozenset()
            found = unsafe_text(document, kept=kept)
            if found is not None:
                await _refuse(scope, receive, send, found, "body")
                return
        pending = list(messages)

        async def replay() -> Message:
            if pending:
                return pending.pop(0)
            return await receive()

        await self.app(scope, replay, send)


def _nul_in_url(scope: Scope) -> str | None:
    """ "path" or "query" when the URL spells a NUL (PostgreSQL would refuse it later)."""
    if "\x00" in scope["path"]:
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


async def _refuse(
    scope: Scope, receive: Receive, send: Send, found: TextProblem, where: str | None = None
) -> None:
    """A 422 in FastAPI's shape: {"detail": [{"type", "loc", "msg"}]}."""
    loc: list[str | int] = [where] if where else []
    loc += [_printable(part) if isinstance(part, str) else part for part in found.loc]
    response = JSONResponse(
        {
            "detail": [
                {"type": "unsafe_text", "loc": loc, "msg": f"{found.field()}: {found.message}"}
            ]
        },
        status_code=422,
    )
    await response(scope, receive, send)
