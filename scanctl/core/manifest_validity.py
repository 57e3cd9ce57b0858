"""How long an offline manifest is good for, and what a gate does once it is not.

The rules both sides share, in one place: the backend computes a manifest's validity
with `manifest_valid_until_ms`; a gate asks `manifest_is_stale`, takes a supervisor's
`StaleOverride` into account with `stale_action` (decide() calls it), and warns ahead
of expiry with `expiry_stage`.

Validity covers the event: it runs until the event's end plus a grace period (or, for
a manifest pulled after the end, the grace period from the pull), never beyond the
venue's upper bound from the pull. Once past it, the policy's ``stale_manifest`` (deny,
or admit with a warning) decides, unless a door supervisor's override, recorded on the
box with who and when, says otherwise until a time of its own. Every admission decided
on expired data carries a warning, whichever of the two allowed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scanctl.core.policy import Policy, StaleManifestAction

__all__ = [
    "EXPIRY_WARNINGS_MS",
    "STALE_WARNING",
    "ExpiryStage",
    "StaleOverride",
    "expiry_stage",
    "extended_until_ms",
    "format_time_left",
    "manifest_is_stale",
    "manifest_valid_until_ms",
    "stale_action",
    "stale_warning",
]

STALE_WARNING = "offline ticket data is out of date"

EXPIRY_WARNINGS_MS: tuple[int, ...] = (2 * 3_600_000, 30 * 60_000)
"""How long before expiry a gate warns: a first warning, then a second, nearer one."""


def manifest_valid_until_ms(
    *, issued_at_ms: int, event_ends_at_ms: int, grace_ms: int, bound_ms: int | None
) -> int:
    """When a manifest issued at ``issued_at_ms`` stops being valid.

    The event's end plus ``grace_ms`` (a manifest pulled after the end: the pull plus
    ``grace_ms``), capped at ``bound_ms`` after the pull when a bound is set. Always
    after the issue time, so a manifest is never born expired.
    """
    until = max(event_ends_at_ms, issued_at_ms) + grace_ms
    if bound_ms is not None:
        until = min(until, issued_at_ms + bound_ms)
    return max(until, issued_at_ms + 1)


def manifest_is_stale(valid_until_ms: int | None, now_ms: int) -> bool:
    """Whether decide() must be told the manifest is stale: expired, or none held."""
    return valid_until_ms is None or now_ms > valid_until_ms


@dataclass(frozen=True, slots=True)
class StaleOverride:
    """A door supervisor's decision about an expired manifest, made on the box.

    ``action`` applies from ``at_ms`` until ``until_ms``; ``None`` ends an earlier
    override (back to the policy). ``by`` is who decided, ``note`` why. Only the latest
    override counts, and only while it is in force.
    """

    action: StaleManifestAction | None
    until_ms: int
    by: str
    at_ms: int
    note: str = ""

    def in_force(self, now_ms: int) -> bool:
        """Whether this override decides at ``now_ms``."""
        return self.action is not None and self.at_ms <= now_ms < self.until_ms


def extended_until_ms(valid_until_ms: int | None, now_ms: int, minutes: int) -> int:
    """The end of an "extend validity by ``minutes``" override: counted from the
    manifest's own end (from now when none is held)."""
    base = now_ms if valid_until_ms is None else valid_until_ms
    return base + minutes * 60_000


def stale_action(
    policy: Policy, override: StaleOverride | None, now_ms: int
) -> tuple[StaleManifestAction, StaleOverride | None]:
    """What a gate does with a scan on an expired manifest, and the override that chose it
    (None when the policy did)."""
    if override is not None and override.in_force(now_ms):
        assert override.action is not None  # in_force
        return override.action, override
    return policy.stale_manifest, None


def stale_warning(override: StaleOverride | None) -> str:
    """The warning an admission on an expired manifest carries."""
    if override is None:
        return STALE_WARNING
    return f"{STALE_WARNING}; admitted on {override.by}'s override"


class ExpiryStage(StrEnum):
    """How near a manifest is to its expiry, as the gate's alerts see it."""

    FRESH = "fresh"
    """More than the first warning's lead time left."""
    SOON = "soon"
    """Within the first warning's lead time."""
    IMMINENT = "imminent"
    """Within the last warning's lead time."""
    EXPIRED = "expired"
    """Past its validity (or none held)."""


def expiry_stage(
    valid_until_ms: int | None, now_ms: int, leads_ms: tuple[int, ...] = EXPIRY_WARNINGS_MS
) -> ExpiryStage:
    """The stage of a manifest valid until ``valid_until_ms`` at ``now_ms``."""
    if manifest_is_stale(valid_until_ms, now_ms):
        return ExpiryStage.EXPIRED
    assert valid_until_ms is not None  # manifest_is_stale
    left = valid_until_ms - now_ms
    if left <= min(leads_ms):
        return ExpiryStage.IMMINENT
    if left <= max(leads_ms):
        return ExpiryStage.SOON
    return ExpiryStage.FRESH


def format_time_left(ms: int | float) -> str:
    """A duration the way people say it: ``45 s``, ``12 min``, ``3 h 20 min`` (a negative
    one by its size: the time since)."""
    seconds = int(abs(ms) // 1000)
    if seconds < 90:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
