"""How outcomes look on a supervisor's screen: the one place mapping reasons, alerts
and link states to a symbol, a word and a colour (never colour alone: staff may be
colour-blind and the sun shines on terminals)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text

from scanctl.core import ALLOWED_REASONS, Reason, format_time_left

__all__ = [
    "ALERT_KINDS",
    "alert_ack",
    "alert_badge",
    "alert_label",
    "alert_where",
    "decision_text",
    "format_age",
    "format_count",
    "format_time",
    "is_admitted",
    "reason_text",
]

# Admissions are the normal case: quiet green text. Denials are what a supervisor must
# not miss: white on red, padded so the block reads as one label on any font.
ADMIT_STYLE = "#6cc070"
DENY_STYLE = "bold #ffffff on #b31b1b"
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
    """``✔ ADMITTED`` in quiet green, `` ✘ DENIED QR_ALREADY_USED `` loud on red (or
    compact forms); an admission with a warning (an expired manifest) gets
    `` ⚠ WARNING `` on amber too."""
    if is_admitted(reason) if allowed is None else allowed:
        word = reason if reason != Reason.ADMITTED or compact else "ADMITTED"
        text = _labelled(ADMIT_SYMBOL, word, ADMIT_STYLE, pad="")
        if warning:
            text.append(" ")
            text.append_text(_labelled(WARN_SYMBOL, "WARNING", WARN_STYLE))
        return text
    return _labelled(DENY_SYMBOL, reason if compact else f"DENIED {reason}", DENY_STYLE)


def _labelled(symbol: str, word: str, style: str, pad: str = " ") -> Text:
    """Symbol and word in one style; the symbol is its own run (not bold), so that a
    renderer whose font draws it wider than a cell cannot push the word into the next
    field (the ticket after a decision, for one)."""
    text = Text()  # no base style: what a caller appends must not inherit this one's
    text.append(f"{pad}{symbol}", style=f"{style} not bold")
    text.append(f" {word}{pad}", style=style)
    return text


def decision_text(event: dict[str, Any] | None, *, counted: bool = False) -> Text:
    """The last decision at a gate: outcome, then ticket and scanner. ``counted``: the
    gate has decided before (a restarted daemon's counts carry on) though no decision
    is at hand, so it must not say "no scans yet"."""
    if not event:
        return Text("last decision not at hand" if counted else "no scans yet", style="dim")
    warning = event.get("warning")
    text = reason_text(str(event.get("reason", "?")), allowed=event.get("allowed"), warning=warning)
    text.append(f"  {event.get('ticket_id') or '—'}", style="bold")
    text.append(f" @{event.get('scanner', '?')}", style="dim")
    if warning and event.get("allowed"):
        text.append(f" — {warning}", style="bold #e0a800")
    return text


ALERT_KINDS = {
    "replay_burst": "Replayed codes",
    "forgery_burst": "Forged codes",
    "scanner_disconnected": "Scanner offline",
    "backend_unreachable": "Backend down",
    "manifest_stale": "Manifest stale",
    "manifest_expiring": "Manifest expiring",
    "outbox_growing": "Outbox growing",
    "reconcile_conflict": "Sync conflict",
    "journal_failed": "Journal failed",
    "manifest_refused": "Manifest refused",
    "task_failed": "Daemon task failed",
    "mesh_peer_lost": "Peer gate lost",
    "mesh_hostile": "Forged mesh traffic",
}


def alert_where(alert: dict[str, Any]) -> str:
    return str(alert.get("scanner") or alert.get("gate") or "daemon")


def alert_label(alert: dict[str, Any]) -> str:
    """'Replayed codes at south': what and where, in words."""
    kind = str(alert.get("kind"))
    return f"{ALERT_KINDS.get(kind, kind)} at {alert_where(alert)}"


def alert_badge(alert: dict[str, Any]) -> Text:
    """Where the alert is in its life: raised (critical or warning), or cleared by
    itself; ``alert_state`` says whether someone acknowledged it."""
    critical = alert.get("severity") == "critical"
    if not alert.get("active", True):
        label, style = ("○ CLEARED" if critical else "○ cleared"), "dim"
    else:
        label, style = (" ▲ CRITICAL ", DENY_STYLE) if critical else (" △ WARNING ", WARN_STYLE)
    return Text().append(label, style=style)  # no base style (see _labelled)


def alert_ack(alert: dict[str, Any], tz: tzinfo | None) -> Text:
    """'✔ anna 21:04:10' once acknowledged (who, when, where the daemon says), else '—'."""
    if not alert.get("acknowledged"):
        return Text("—", style="bold #ff6b6b")
    by = str(alert.get("acked_by") or "").removeprefix("tui:")
    at = alert.get("acked_at_ms")
    return Text(f"✔ {by} {format_time(at, tz) if at else ''}".rstrip(), style="green")


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
