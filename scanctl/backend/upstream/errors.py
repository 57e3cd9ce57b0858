"""The upstream package's exception tree.

    UpstreamError
    ├── UpstreamUnavailable    no fresh answer and no earlier one to fall back on (HTTP 503)
    └── UpstreamCallFailed     one call went wrong; the catalog falls back or raises the above
        ├── UpstreamTimeout    no answer within the budget (connect or read)
        ├── UpstreamDown       refused, reset, or a 5xx / 429
        ├── UpstreamRejected   401/403 or another unexpected status: our request or token
        ├── UpstreamGarbage    a 2xx whose body is not the data asked for
        └── BreakerOpen        not attempted: the service's circuit breaker is open

Every `UpstreamCallFailed` counts against the breaker except `BreakerOpen` (nothing was
sent). A 404 is an answer ("no such ticket"), not a failure.
"""

from __future__ import annotations

__all__ = [
    "BreakerOpen",
    "UpstreamCallFailed",
    "UpstreamDown",
    "UpstreamError",
    "UpstreamGarbage",
    "UpstreamRejected",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class UpstreamError(Exception):
    """Base of every error of the upstream services."""


class UpstreamUnavailable(UpstreamError):
    """The data is needed, the service cannot give it, and nothing was fetched before."""

    def __init__(self, service: str, what: str) -> None:
        super().__init__(f"the {service} service is unavailable and {what} was never fetched")
        self.service = service


class UpstreamCallFailed(UpstreamError):
    """One call to a service failed; ``outcome`` labels it in the metrics."""

    outcome = "error"


class UpstreamTimeout(UpstreamCallFailed):
    """No answer within the lookup budget."""

    outcome = "timeout"


class UpstreamDown(UpstreamCallFailed):
    """Connection refused or reset, or the service answered 5xx / 429."""

    outcome = "down"


class UpstreamRejected(UpstreamCallFailed):
    """The service refused the request (401/403) or answered an unexpected status."""

    outcome = "rejected"


class UpstreamGarbage(UpstreamCallFailed):
    """A success status with a body that is not what was asked for."""

    outcome = "garbage"


class BreakerOpen(UpstreamCallFailed):
    """Not attempted: the breaker is open."""

    outcome = "breaker_open"
