"""The backend's exception tree.

    BackendError
    ├── ConfigError            settings missing, weak or malformed (exit status 2)
    └── StoreError             raised by the data-access layer
        ├── NotFound           no such row *in the caller's tenant* (foreign = absent)
        ├── OutOfVenue         the row exists in the tenant but outside the caller's venues
        └── Conflict           the write contradicts a row that exists

Routes do not catch these one by one: `scanctl.backend.api.errors` maps each to one
HTTP answer, in one place.
"""

from __future__ import annotations

__all__ = ["BackendError", "ConfigError", "Conflict", "NotFound", "OutOfVenue", "StoreError"]


class BackendError(Exception):
    """Base of every error the backend raises on purpose."""


class ConfigError(BackendError):
    """The settings cannot be used; ``problems`` lists every one, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StoreError(BackendError):
    """A data-access call could not do what was asked."""


class NotFound(StoreError):
    """No such object in the caller's tenant. Another tenant's object is 'not found' too."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} not found")
        self.kind = kind


class OutOfVenue(StoreError):
    """The object belongs to a venue of the caller's tenant that the caller may not act on."""

    def __init__(self, kind: str, object_id: str, venue_id: str) -> None:
        super().__init__(f"{kind} {object_id} is in venue {venue_id}, outside the caller's scope")
        self.kind = kind
        self.object_id = object_id
        self.venue_id = venue_id


class Conflict(StoreError):
    """The write contradicts existing data (a duplicate id, an event changing venue)."""
