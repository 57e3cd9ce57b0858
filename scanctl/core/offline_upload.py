"""What the backend checks of an offline scan a gate uploads, before it counts it.

A gate decided the scan alone; the backend cannot re-decide it (the gate's history and
clock were its own), but it can check what the gate's answer rests on, and must before
an uploaded admission counts against the ticket (a forged admission would turn the real
holder away as ALREADY_SCANNED). Checked, in this order, and refused when false:

1. the device existed then: scanned no earlier than its registration and no later than
   its revocation (each with the clock-skew allowance);
2. an admission lies within its event: from the doors opening (the policy's
   ``doors_open_minutes_before_start``) to the end, with the clock-skew allowance;
3. an admission's code is this ticket's: a rotating token names the ticket and its MAC
   verifies with the event key (constant time); a printed code hashes to the ticket's
   static hash; anything else is not a code a gate admits.

What cannot be checked is accepted and marked (``unverified``): an admission without a
ticket id, a ticket the backend does not hold, a printed code whose ticket has no
static hash here. Denials are records, not admissions: only rule 1 applies to them.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from scanctl.core.keys import verify_mac
from scanctl.core.tickets import EventFacts
from scanctl.core.tokens import RotatingCode, StaticCode, parse_code, printed_hash_of

__all__ = ["UploadCheck", "UploadFacts", "check_upload"]


@dataclass(frozen=True, slots=True)
class UploadFacts:
    """What the backend knows around one uploaded scan."""

    device_registered_ms: int
    device_revoked_ms: int | None
    event: EventFacts | None
    """The event the scan is filed under (None: the venue has none; filed elsewhere)."""
    event_keys: Sequence[bytes]
    """The event's QR keys: current first, then the previous while secrets rotate."""
    ticket_known: bool
    static_hash: str | None
    skew_ms: int
    doors_open_ms: int


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """``refused``: why the scan must not be stored; else ``unverified``: what could not
    be checked (None: everything was)."""

    refused: str | None = None
    unverified: str | None = None


def check_upload(
    facts: UploadFacts, *, qr_data: str, ticket_id: str | None, allowed: bool, scanned_at_ms: int
) -> UploadCheck:
    """Check one uploaded scan against ``facts`` (see the module docstring)."""
    skew = facts.skew_ms
    if scanned_at_ms < facts.device_registered_ms - skew:
        return UploadCheck(refused="scanned before the device was registered")
    if facts.device_revoked_ms is not None and scanned_at_ms > facts.device_revoked_ms + skew:
        return UploadCheck(refused="scanned after the device was revoked")
    if not allowed:
        return UploadCheck()
    event = facts.event
    if event is not None and not (
        event.starts_at_ms - facts.doors_open_ms - skew <= scanned_at_ms <= event.ends_at_ms + skew
    ):
        return UploadCheck(refused="an admission outside its event's time")
    if ticket_id is None:
        return UploadCheck(unverified="no ticket id: the code could not be checked")
    if not facts.ticket_known:
        return UploadCheck(unverified="a ticket the backend does not hold")
    printed = printed_hash_of(qr_data)  # gates upload a printed code as its hash
    code = parse_code(qr_data) if printed is None else StaticCode(printed)
    if isinstance(code, RotatingCode):
        if code.ticket_id != ticket_id:
            return UploadCheck(refused="the code is another ticket's")
        if not verify_mac(code, facts.event_keys):
            return UploadCheck(refused="the code's MAC does not verify for this event")
        return UploadCheck()
    if isinstance(code, StaticCode):
        if facts.static_hash is None:
            return UploadCheck(unverified="a printed code of a ticket with none on record")
        if not hmac.compare_digest(code.secret_hash, facts.static_hash):
            return UploadCheck(refused="the printed code is not this ticket's")
        return UploadCheck()
    return UploadCheck(refused="the code is not a ticket code")
