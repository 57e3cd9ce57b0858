"""The one wire form of a Decision: what `POST /api/scan` answers and the gate reads back.

The backend encodes its decision with `decision_to_wire`; the gate daemon's online-first
path decodes the answer with `decision_from_wire` and gets the very Decision the backend
made (facts included), so it journals and shows what the backend decided, not a guess.
Keys are the API's (camelCase); times are RFC 3339 UTC with a ``Z``.

Specific facts travel only for verified reasons: an INVALID (or a refusal made before
the code was checked) names no ticket, so answers cannot be used to probe ticket ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scanctl.core.decide import Decision
from scanctl.core.reasons import Reason

__all__ = ["WireDecision", "decision_from_wire", "decision_to_wire", "iso_ms", "ms_of_iso"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def iso_ms(ms: int) -> str:
    """ms since the epoch as RFC 3339 UTC with a ``Z`` (exact: no float on the way)."""
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


def ms_of_iso(text: str) -> int:
    """An RFC 3339 time with a zone as ms since the epoch; ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return (moment - _EPOCH) // _MS


@dataclass(frozen=True, slots=True)
class WireDecision:
    """A decision as it came over the wire, with the id and time of the stored scan."""

    decision: Decision
    scan_id: str
    decided_at_ms: int


def decision_to_wire(decision: Decision, scan_id: str, decided_at_ms: int) -> dict[str, object]:
    """The response body of a decided scan (the shape of the API's ``ScanOut``)."""
    verified = decision.verified
    admitted_at = decision.admitted_at_ms if verified else None
    return {
        "allowed": decision.allowed,
        "reason": decision.reason.value,
        "message": decision.message,
        "ticketId": decision.ticket_id if verified else None,
        "admittedAt": None if admitted_at is None else iso_ms(admitted_at),
        "admittedGate": (decision.admitted_gate or None) if verified else None,
        "transferredTo": decision.transferred_to if verified else None,
        "retryAfterSeconds": decision.retry_after_s,
        "warning": decision.warning,
        "scanId": scan_id,
        "decidedAt": iso_ms(decided_at_ms),
        # Last: keys added later go at the end, so clients reading by position still work.
        "admittedDevice": decision.admitted_device if verified else None,
    }


def decision_from_wire(body: Mapping[str, object]) -> WireDecision:
    """The Decision an answer carries; ValueError for a body that is not one (an unknown
    reason included: a newer backend's reason is no decision this gate can apply)."""
    try:
        reason = Reason(_text(body, "reason"))
    except ValueError:
        raise ValueError(f"unknown reason {body.get('reason')!r}") from None
    allowed = body.get("allowed")
    if allowed is not reason.allowed:
        raise ValueError(f"allowed={allowed!r} contradicts reason {reason}")
    admitted_at = _optional_text(body, "admittedAt")
    retry_after = body.get("retryAfterSeconds")
    if retry_after is not None and (type(retry_after) is not int or retry_after < 0):
        raise ValueError(f"bad retryAfterSeconds {retry_after!r}")
    decision = Decision(
        allowed=reason.allowed,
        reason=reason,
        message=_text(body, "message"),
        ticket_id=_optional_text(body, "ticketId"),
        verified=reason.verified,
        admitted_at_ms=None if admitted_at is None else ms_of_iso(admitted_at),
        admitted_gate=_optional_text(body, "admittedGate"),
        transferred_to=_optional_text(body, "transferredTo"),
        retry_after_s=retry_after,
        warning=_optional_text(body, "warning"),
        admitted_device=_optional_text(body, "admittedDevice"),
    )
    return WireDecision(decision, _text(body, "scanId"), ms_of_iso(_text(body, "decidedAt")))


def _text(body: Mapping[str, object], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string, not {value!r}")
    return value


def _optional_text(body: Mapping[str, object], key: str) -> str | None:
    return None if body.get(key) is None else _text(body, key)
