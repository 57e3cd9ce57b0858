"""Alerts about the held manifest's validity: well before it runs out, and once it has.

The stages are `core.expiry_stage`'s (2 h and 30 min ahead by default); each stage is
its own alert, so a supervisor who acknowledged the first warning still gets the next.
Once the manifest has expired, a critical alert says what the gates now do (the
policy's ``stale_manifest``, or a supervisor's override in force: `core.stale_action`)
and how to change it.
"""

from __future__ import annotations

import time

from scanctl.core import (
    ExpiryStage,
    Policy,
    StaleManifestAction,
    StaleOverride,
    expiry_stage,
    format_time_left,
)
from scanctl.core.manifest_validity import stale_action
from scanctl.daemon.alerts import AlertBook, AlertKind, Severity

__all__ = ["watch_manifest"]

_STALE_KEY = "manifest"
_AHEAD = {ExpiryStage.SOON: "manifest:soon", ExpiryStage.IMMINENT: "manifest:imminent"}


def _clock(ms: int) -> str:
    """A wall-clock time as the box shows it (HH:MM, local time)."""
    return time.strftime("%H:%M", time.localtime(ms / 1000))


def _doing(policy: Policy, override: StaleOverride | None, now_ms: int) -> str:
    action, by = stale_action(policy, override, now_ms)
    what = "deny every ticket" if action is StaleManifestAction.DENY else "admit with a warning"
    if by is None:
        return f"gates {what} (the event's policy)"
    return f"gates {what} until {_clock(by.until_ms)} ({by.by}'s override)"


def watch_manifest(
    alerts: AlertBook,
    valid_until_ms: int | None,
    now_ms: int,
    policy: Policy,
    override: StaleOverride | None,
) -> ExpiryStage:
    """Raise or clear the manifest's alerts for ``now_ms``; returns the stage."""
    stage = expiry_stage(valid_until_ms, now_ms)
    for ahead, key in _AHEAD.items():
        if ahead is not stage:
            alerts.clear(AlertKind.MANIFEST_EXPIRING, key)
    if stage is not ExpiryStage.EXPIRED:
        alerts.clear(AlertKind.MANIFEST_STALE, _STALE_KEY)
    if stage is ExpiryStage.EXPIRED:
        since = (
            "no manifest is held"
            if valid_until_ms is None
            else f"the offline manifest expired at {_clock(valid_until_ms)} "
            f"({format_time_left(now_ms - valid_until_ms)} ago)"
        )
        alerts.raise_alert(
            AlertKind.MANIFEST_STALE,
            _STALE_KEY,
            f"{since}: {_doing(policy, override, now_ms)}; pull a fresh one, or override "
            "(`scanctl daemon override`)",
            severity=Severity.CRITICAL,
        )
    elif stage in _AHEAD:
        assert valid_until_ms is not None  # not expired
        alerts.raise_alert(
            AlertKind.MANIFEST_EXPIRING,
            _AHEAD[stage],
            f"the offline manifest expires in {format_time_left(valid_until_ms - now_ms)} "
            f"(at {_clock(valid_until_ms)}): pull a fresh one while the backend is reachable; "
            f"after that {_doing(policy, None, now_ms)}",
        )
    return stage
