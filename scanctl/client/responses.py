"""Turn an HTTP answer (status, headers, body bytes) into a value or one of our errors.

Pure functions, shared by the sync and the async client. Whatever the bytes, they
return or raise a `ClientError` subclass; a property test holds them to that.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from scanctl.client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    InvalidResponse,
    NotAuthorized,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
)
from scanctl.client.models import ScanResult, ScansPage
from scanctl.core import Reason, message_for

__all__ = [
    "UNAVAILABLE_STATUSES",
    "Reply",
    "error_for",
    "json_body",
    "json_list",
    "json_object",
    "parse_retry_after",
    "raw_bytes",
    "scan_result",
    "scans_page",
]

UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
"""Statuses that say "not now" rather than "no": retried when safe, then Unreachable."""

_MAX_MESSAGE = 300


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, fully read; ``headers`` become case-insensitive ``httpx.Headers``."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=httpx.Headers)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, httpx.Headers):
            object.__setattr__(self, "headers", httpx.Headers(self.headers))


# -- success bodies -------------------------------------------------------------------


def json_body(reply: Reply) -> Any:
    """The body as JSON, or InvalidResponse."""
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and UnicodeDecodeError.
        raise InvalidResponse(
            f"the backend answered {reply.status} with a body that is not JSON",
            status=reply.status,
        ) from exc


def json_object(reply: Reply) -> dict[str, Any]:
    """The body as a JSON object; an empty body (204) is an empty object."""
    if not reply.body:
        return {}
    value = json_body(reply)
    if not isinstance(value, dict):
        raise InvalidResponse(
            f"expected a JSON object, got {type(value).__name__}", status=reply.status
        )
    return value


def json_list(reply: Reply, key: str) -> list[Any]:
    """A list answer: a bare JSON array, or an object carrying it under ``key`` or "items"."""
    value = json_body(reply)
    if isinstance(value, dict):
        value = value.get(key, value.get("items"))
    if not isinstance(value, list):
        raise InvalidResponse(f"expected a JSON list of {key}", status=reply.status)
    return value


def scans_page(reply: Reply) -> ScansPage:
    """A page of scans: ``{"scans": [...], "next": cursor|null}`` (a bare array: one page)."""
    value = json_body(reply)
    if isinstance(value, list):  # an older backend that did not page
        return ScansPage([dict(s) for s in value if isinstance(s, dict)], None)
    if not isinstance(value, dict) or not isinstance(value.get("scans"), list):
        raise InvalidResponse("expected a page of scans", status=reply.status)
    following = value.get("next")
    if following is not None and not isinstance(following, str):
        raise InvalidResponse("a page's 'next' must be a string or null", status=reply.status)
    return ScansPage([dict(s) for s in value["scans"] if isinstance(s, dict)], following)


def raw_bytes(reply: Reply) -> bytes:
    """The body as it came (manifests are binary)."""
    return reply.body


def scan_result(reply: Reply) -> ScanResult:
    """The decision of ``POST /api/scan``: allowed (bool), reason (str), message (str);
    the body stays whole in ``ScanResult.body`` for ``wire_decision()``."""
    body = json_object(reply)
    allowed = body.get("allowed")
    reason_code = body.get("reason")
    if not isinstance(allowed, bool) or not isinstance(reason_code, str) or not reason_code:
        raise InvalidResponse(
            "a scan decision needs 'allowed' (bool) and 'reason' (string)", status=reply.status
        )
    reason: Reason | str
    try:
        reason = Reason(reason_code)
    except ValueError:
        reason = reason_code
    message = body.get("message")
    if not isinstance(message, str):
        message = message_for(reason) if isinstance(reason, Reason) else ""
    extra = {k: v for k, v in body.items() if k not in ("allowed", "reason", "message")}
    return ScanResult(allowed=allowed, reason=reason, message=message, extra=extra, body=body)


# -- error answers --------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After in seconds from delta-seconds or an HTTP date; None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def error_for(reply: Reply) -> ApiError:
    """The error a non-2xx answer stands for, with the backend's code, message and details."""
    status = reply.status
    code, message, details = _error_fields(reply)
    headers = dict(reply.headers.items())
    if status in (400, 422):
        return BadRequest(
            status, code, message, details, headers=headers, field_errors=_field_errors(details)
        )
    if status == 429:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return RateLimited(status, code, message, details, headers=headers, retry_after=retry_after)
    if status in UNAVAILABLE_STATUSES:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        return ServiceUnavailable(
            status, code, message, details, headers=headers, retry_after=retry_after
        )
    kind: type[ApiError] = {
        401: NotAuthorized,
        403: Forbidden,
        404: NotFound,
        409: Conflict,
    }.get(status, ServerError if status >= 500 else ApiError)
    return kind(status, code, message, details, headers=headers)


def _error_fields(reply: Reply) -> tuple[str, str, Any]:
    """(code, message, details) from the shapes backends use; fall back to the status."""
    phrase = _reason_phrase(reply.status)
    code: Any = None
    message: Any = None
    details: Any = None
    try:
        body = json.loads(reply.body) if reply.body else None
    except (ValueError, RecursionError):
        body = None
        text = reply.body[:_MAX_MESSAGE].decode("utf-8", "replace").strip()
        message = text or None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # {"error": {"code", "message", "details"}}
            code, message, details = error.get("code"), error.get("message"), error.get("details")
        else:  # {"code"|"error", "message"|"detail", "details"|"detail"}
            code = body.get("code", error)
            message = body.get("message")
            details = body.get("details")
            detail = body.get("detail")  # FastAPI: a string, or a list of field problems
            if isinstance(detail, str) and message is None:
                message = detail
            elif detail is not None and details is None:
                details = detail
    code = code if isinstance(code, str) and code else phrase
    message = message if isinstance(message, str) and message else phrase
    return code, message[:_MAX_MESSAGE], details


def _field_errors(details: Any) -> tuple[FieldError, ...]:
    """Field problems from a FastAPI/pydantic list, a list of {field, message}, or a dict."""
    found: list[FieldError] = []
    if isinstance(details, dict):
        for name, problem in details.items():
            found.append(FieldError(str(name), _text(problem)))
    elif isinstance(details, list):
        for item in details:
            if not isinstance(item, dict):
                continue
            where = item.get("loc", item.get("field", item.get("path")))
            if isinstance(where, list):
                where = ".".join(str(part) for part in where)
            what = item.get("msg", item.get("message", ""))
            found.append(FieldError(str(where) if where is not None else "", _text(what)))
    return tuple(found)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    return json.dumps(value, default=str)[:_MAX_MESSAGE]


def _reason_phrase(status: int) -> str:
    return httpx.codes.get_reason_phrase(status) or f"HTTP {status}"
