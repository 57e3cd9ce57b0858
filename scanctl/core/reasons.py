"""The stable reason codes a scan decision carries, and the one message each shows."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ALLOWED_REASONS", "UNVERIFIED_REASONS", "Reason", "message_for"]


class Reason(StrEnum):
    """Why a scan was admitted or denied.

    The string values are a contract: the backend answers them, the daemon journals
    them, scripts match on them. Never rename one; add new ones at the end.
    """

    ADMITTED = "ADMITTED"
    RE_ENTRY_ADMITTED = "RE_ENTRY_ADMITTED"
    EXITED = "EXITED"
    INVALID = "INVALID"
    QR_EXPIRED = "QR_EXPIRED"
    QR_ALREADY_USED = "QR_ALREADY_USED"
    ALREADY_SCANNED = "ALREADY_SCANNED"
    COOLDOWN = "COOLDOWN"
    MAX_REENTRIES = "MAX_REENTRIES"
    WRONG_EVENT = "WRONG_EVENT"
    UNAUTHORIZED_VENUE = "UNAUTHORIZED_VENUE"
    WRONG_ZONE = "WRONG_ZONE"
    EVENT_NOT_STARTED = "EVENT_NOT_STARTED"
    EVENT_ENDED = "EVENT_ENDED"
    TICKET_NOT_YET_VALID = "TICKET_NOT_YET_VALID"
    TICKET_EXPIRED = "TICKET_EXPIRED"
    TICKET_REFUNDED = "TICKET_REFUNDED"
    TICKET_CANCELLED = "TICKET_CANCELLED"
    TICKET_TRANSFERRED = "TICKET_TRANSFERRED"
    RATE_LIMITED = "RATE_LIMITED"
    MANIFEST_STALE = "MANIFEST_STALE"

    @property
    def allowed(self) -> bool:
        """Whether a decision with this reason lets the holder through."""
        return self in ALLOWED_REASONS

    @property
    def verified(self) -> bool:
        """Whether a decision with this reason was made about a code that checked out
        (its MAC or static hash): only then may the ticket and the specifics be shown,
        and only then is a rotating code's nonce spent."""
        return self not in UNVERIFIED_REASONS


ALLOWED_REASONS = frozenset({Reason.ADMITTED, Reason.RE_ENTRY_ADMITTED, Reason.EXITED})

UNVERIFIED_REASONS = frozenset({Reason.INVALID, Reason.UNAUTHORIZED_VENUE, Reason.RATE_LIMITED})
"""Reasons decided before (or without) checking the code: nothing about it is known."""

# One message per reason. INVALID covers bad format, bad MAC and unknown tickets alike
# so that the message cannot be used to probe which ticket ids exist.
_MESSAGES: dict[Reason, str] = {
    Reason.ADMITTED: "Welcome: ticket admitted.",
    Reason.RE_ENTRY_ADMITTED: "Welcome back: re-entry admitted.",
    Reason.EXITED: "Exit recorded.",
    Reason.INVALID: "This code is not a valid ticket.",
    Reason.QR_EXPIRED: "This code has expired: refresh the ticket in the app.",
    Reason.QR_ALREADY_USED: "This code was already used: refresh the ticket in the app.",
    Reason.ALREADY_SCANNED: "This ticket was already admitted.",
    Reason.COOLDOWN: "Re-entry is not possible yet.",
    Reason.MAX_REENTRIES: "This ticket has used all its re-entries.",
    Reason.WRONG_EVENT: "This ticket is for another event.",
    Reason.UNAUTHORIZED_VENUE: "This scanner may not scan for this event's venue.",
    Reason.WRONG_ZONE: "This ticket is not valid for this zone.",
    Reason.EVENT_NOT_STARTED: "Doors are not open yet for this event.",
    Reason.EVENT_ENDED: "This event has ended.",
    Reason.TICKET_NOT_YET_VALID: "This ticket is not valid yet.",
    Reason.TICKET_EXPIRED: "This ticket has expired.",
    Reason.TICKET_REFUNDED: "This ticket was refunded.",
    Reason.TICKET_CANCELLED: "This ticket was cancelled.",
    Reason.TICKET_TRANSFERRED: "This ticket was transferred to someone else.",
    Reason.RATE_LIMITED: "Too many scans from this scanner: slow down.",
    Reason.MANIFEST_STALE: "Offline ticket data is out of date: ask a supervisor.",
}


def message_for(reason: Reason) -> str:
    """The human message shown for a reason."""
    return _MESSAGES[reason]
