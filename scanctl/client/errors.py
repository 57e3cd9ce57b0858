"""The client's exception tree: every failure a backend call can end in.

    ClientError                      base of everything the client raises on purpose
    ├── Unreachable                  no usable answer from the backend    (CLI exit 3)
    │   ├── ConnectFailed            connection refused/reset, DNS, TLS, protocol error
    │   ├── TimedOut                 a timeout or the call's deadline ran out
    │   ├── CircuitOpen              the breaker is open: failed fast, no network used
    │   └── ServiceUnavailable  ┐    502/503/504 (after retries, where retried)
    ├── ApiError                │    the backend answered with an error status
    │   ├── AuthError           │                                          (CLI exit 4)
    │   │   ├── NotAuthorized   │    401: no, expired or refused credentials
    │   │   └── Forbidden       │    403: this role, device or venue may not do this
    │   ├── BadRequest          │    400/422, with field details
    │   ├── NotFound            │    404
    │   ├── Conflict            │    409
    │   ├── RateLimited         │    429, with ``retry_after`` from Retry-After
    │   └── ServerError         │    any other 5xx
    │       └── ServiceUnavailable ┘ (is both Unreachable and a ServerError)
    └── InvalidResponse              a 2xx whose body is not what the route promises

A scan denial is not an error: ``POST /api/scan`` answers 200 with a decision, and
the client returns it as a `ScanResult`.

Edges map this tree in one place each. The CLI needs only three checks, in this
order: ``Unreachable`` → exit 3, ``AuthError`` → exit 4, any other ``ClientError``
→ exit 1. The daemon falls back to its offline decision on ``Unreachable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "BadRequest",
    "CircuitOpen",
    "ClientError",
    "Conflict",
    "ConnectFailed",
    "FieldError",
    "Forbidden",
    "InvalidResponse",
    "NotAuthorized",
    "NotFound",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "TimedOut",
    "Unreachable",
]


class ClientError(Exception):
    """Base of every error the client raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(ClientError):
    """The backend could not be reached or gave no usable answer in time."""


class ConnectFailed(Unreachable):
    """The connection could not be made or broke (refused, reset, DNS, TLS, protocol)."""


class TimedOut(Unreachable):
    """A timeout fired, or the call's total deadline ran out."""


class CircuitOpen(Unreachable):
    """The circuit breaker is open; the call failed fast without touching the network.

    ``retry_in`` is how many seconds remain before the breaker lets a probe through.
    """

    def __init__(self, message: str, *, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in


@dataclass(frozen=True)
class FieldError:
    """One rejected input field: ``field`` is a dotted path (``body.tickets.0.id``)."""

    field: str
    message: str


class ApiError(ClientError):
    """The backend answered with an error status.

    ``code`` is the backend's machine-readable error code when it sent one (else the
    HTTP reason phrase), ``details`` whatever structured detail it sent (or None).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details
        self.headers: Mapping[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class AuthError(ApiError):
    """The credentials were refused (401) or may not do this (403)."""


class NotAuthorized(AuthError):
    """401: no credentials, expired or invalid ones, or a revoked device."""


class Forbidden(AuthError):
    """403: authenticated, but this role, device or venue may not do this."""


class BadRequest(ApiError):
    """400/422: the request was refused as malformed; ``field_errors`` says where."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        field_errors: tuple[FieldError, ...] = (),
    ) -> None:
        super().__init__(status, code, message, details, headers=headers)
        self.field_errors = field_errors


class NotFound(ApiError):
    """404: no such object (another tenant's objects are 'not found' too)."""


class Conflict(ApiError):
    """409: the write contradicts data the backend holds."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message, details, headers=headers)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the backend failed to handle the request."""


class ServiceUnavailable(Unreachable, ServerError):
    """502/503/504: the backend (or a proxy in front of it) cannot serve right now.

    ``retry_after`` is the server's hint in seconds, if it sent one.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        ServerError.__init__(self, status, code, message, details, headers=headers)
        self.retry_after = retry_after


class InvalidResponse(ClientError):
    """A success status whose body is not what the route promises (not JSON, wrong shape)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
