"""How outcomes look on a supervisor's screen: the one place mapping reasons, alerts
and link states to a symbol, a word and a colour (never colour alone: staff may be
colour-blind and the sun shines on terminals)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text

from scanctl.core import ALLOWED_REASONS, Reason, format_time_left

__all__ = [
    "alert_badge",
    "decision_text",
    "format_age",
    "format_count",
    "format_time",
    "is_admitted",
    "reason_text",
]

ADMIT_STYLE = "bold #f0fff0 on #1b6e2a"
DENY_STYLE = "bold #fff0f0 on #a11d21"
NEUTRAL_STYLE = "bold"
WARN_STYLE = "bold #000000 on #e0a800"
ADMIT_SYMBOL, DENY_SYMBOL, WARN_SYMBOL = "✔", "✘", "⚠"
_ALLOWED = {reason.value for reason in ALLOWED_REASONS}


def is_admitted(reason: str) -> bool:
    return reason in _ALLOWED


def reason_text(
    reason: str,
    *,
    allowed: bool | None = None,
    compact: bool = False,
    warning: str | None = None,
) -> Text:
    """``✔ ADMITTED`` on green, ``✘ DENIED QR_ALREADY_USED`` on red (or compact forms);
    an admission with a warning (an expired manifest) gets ``⚠ WARNING`` on amber too."""
    if is_admitted(reason) if allowed is None else allowed:
        word = reason if reason != Reason.ADMITTED or compact else "ADMITTED"
        text = Text(f"{ADMIT_SYMBOL} {word}", style=ADMIT_STYLE)
        if warning:
            text.append(f" {WARN_SYMBOL} WARNING", style=WARN_STYLE)
        return text
    label = reason if compact else f"DENIED {reason}"
    return Text(f"{DENY_SYMBOL} {label}", style=DENY_STYLE)


def decision_text(event: dict[str, Any] | None) -> Text:
    """The last decision at a gate: outcome, then ticket and scanner."""
    if not event:
        return Text("no scans yet", style="dim")
    warning = event.get("warning")
    text = reason_text(str(event.get("reason", "?")), allowed=event.get("allowed"), warning=warning)
    text.append(f" {event.get('ticket_id') or '—'}", style="bold")
    text.append(f" @{event.get('scanner', '?')}", style="dim")
    if warning and event.get("allowed"):
        text.append(f" — {warning}", style="bold #e0a800")
    return text


def alert_badge(alert: dict[str, Any]) -> Text:
    if not alert.get("active", True):
        return Text("○ cleared", style="dim")
    if alert.get("severity") == "critical":
        return Text("▲ CRITICAL", style="bold #ffffff on #a11d21")
    return Text("△ WARNING", style="bold #000000 on #e0a800")


def format_count(value: int) -> str:
    return f"{value:,}"


def format_age(ms: int | float | None) -> str:
    """A duration the way people say it: 45 s, 12 min, 3 h 20 min (the core's words)."""
    return "—" if ms is None else format_time_left(max(0, ms))


def format_time(ms: int | None, tz: tzinfo | None) -> str:
    """Wall-clock time of day of an epoch-ms stamp (local time unless ``tz`` is given)."""
    if ms is None:
        return "--:--:--"
    stamp = datetime.fromtimestamp(ms / 1000, tz=tz) if tz else datetime.fromtimestamp(ms / 1000)
    return stamp.strftime("%H:%M:%S")
