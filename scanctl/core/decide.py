"""decide(): the one function that admits or denies a scan, online and offline alike.

Pure: everything it needs comes in as arguments — the parsed code, the ticket and event
facts, the policy, the ticket's admitted passes so far, the scanner, the keys and
``now_ms`` — and a Decision comes out. Denials are values, never exceptions. The caller
looks things up (ticket, history, whether the nonce was seen) and records the outcome;
when ``Decision.verified`` is true the caller must remember the code's nonce.

The order of the checks, and why:

1. UNAUTHORIZED_VENUE — the scanner's venue is not the event's. About the device, not
   the code, so it leaks nothing about codes and comes first.
2. INVALID — bad format, unknown ticket, or a MAC that no key made. One reason for all
   three, so forged or guessed codes cannot tell which ticket ids exist.
   Everything below is shown only for codes whose MAC (or static hash) checked out.
3. QR_EXPIRED — minted longer ago than the code lifetime plus the clock-skew
   allowance, or further in the future than the allowance. Checked before the nonce so
   an old screenshot reads "expired", the more useful word at the door.
4. QR_ALREADY_USED — the nonce was seen before: a screenshot passed around.
5. MANIFEST_STALE — the gate's offline data is past its validity: deny, or (if the
   policy, or a supervisor's override in force, says so) carry on and attach a warning
   to the outcome (`core.manifest_validity` has the rule).
6. WRONG_EVENT — the ticket belongs to another event.
7. Exit lanes stop here with EXITED: nobody is kept inside for a refunded ticket.
8. TICKET_REFUNDED / TICKET_CANCELLED / TICKET_TRANSFERRED — the ticket is dead
   whatever the time or the gate; transferred names the new ticket id.
9. EVENT_NOT_STARTED / EVENT_ENDED — doors open ``doors_open_minutes_before_start``
   before the start and close at the end.
10. TICKET_NOT_YET_VALID / TICKET_EXPIRED — the ticket's own validity window.
11. WRONG_ZONE — the gate's zone is not one the ticket grants (`core.lanes` has the one
    rule: which zone a lane guards, and what unzoned tickets may do).
12. History: ALREADY_SCANNED inside the duplicate window or when re-entry is off (it
    names the ticket's *first* admission: when, at which gate, by which device),
    MAX_REENTRIES (past the policy's admission allowance), COOLDOWN, then
    RE_ENTRY_ADMITTED; a first entry is ADMITTED. Only entries use up admissions: a
    ticket with exits but no entry (a mistaken exit scan) enters as ADMITTED.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from scanctl.core.keys import verify_mac
from scanctl.core.lanes import gate_zone, zone_admits
from scanctl.core.manifest_validity import StaleOverride, stale_action, stale_warning
from scanctl.core.policy import Policy, StaleManifestAction
from scanctl.core.reasons import ALLOWED_REASONS, Reason, message_for
from scanctl.core.tickets import (
    Direction,
    EventFacts,
    PastScan,
    ScannerContext,
    TicketFacts,
    TicketStatus,
)
from scanctl.core.tokens import InvalidCode, ParsedCode, RotatingCode

__all__ = ["Decision", "decide", "deny"]

_STATUS_REASONS = {
    TicketStatus.REFUNDED: Reason.TICKET_REFUNDED,
    TicketStatus.CANCELLED: Reason.TICKET_CANCELLED,
    TicketStatus.TRANSFERRED: Reason.TICKET_TRANSFERRED,
}
_MESSAGES = {reason: message_for(reason) for reason in Reason}


class Decision(NamedTuple):
    """The outcome of one scan, with the facts that explain it.

    A NamedTuple because one is built per scan on the hot path: immutable like a frozen
    dataclass, at a fraction of the construction cost.

    ``verified`` says the code itself checked out (MAC or static hash), so the nonce is
    spent and the specific reason may be shown. ``admitted_at_ms``/``admitted_gate``/
    ``admitted_device`` (the ticket's first admission) accompany ALREADY_SCANNED,
    ``transferred_to`` TICKET_TRANSFERRED and ``retry_after_s`` COOLDOWN.
    """

    allowed: bool
    reason: Reason
    message: str
    ticket_id: str | None = None
    verified: bool = False
    admitted_at_ms: int | None = None
    admitted_gate: str | None = None
    transferred_to: str | None = None
    retry_after_s: int | None = None
    warning: str | None = None
    admitted_device: str | None = None


def deny(reason: Reason, ticket_id: str | None = None, *, verified: bool = False) -> Decision:
    """A decision for a reason the caller determined itself (RATE_LIMITED, say)."""
    return Decision(reason.allowed, reason, message_for(reason), ticket_id, verified)


_INVALID = Decision(False, Reason.INVALID, message_for(Reason.INVALID))


def decide(
    code: ParsedCode,
    *,
    ticket: TicketFacts | None,
    event: EventFacts,
    policy: Policy,
    history: Sequence[PastScan],
    scanner: ScannerContext,
    now_ms: int,
    event_keys: Sequence[bytes],
    nonce_seen: bool = False,
    manifest_stale: bool = False,
    stale_override: StaleOverride | None = None,
) -> Decision:
    """Admit or deny one scan; see the module docstring for the order of the checks.

    ``ticket`` is the ticket the code names (looked up by id, or by hash for static
    codes), or None when unknown. ``event_keys`` are the keys of the ticket's event,
    current first. ``history`` holds the ticket's admitted passes, oldest first.
    ``stale_override`` is the supervisor's latest override of the policy's
    ``stale_manifest`` (it only counts while in force, and only on a stale manifest).
    """
    if scanner.venue_id != event.venue_id:
        return deny(Reason.UNAUTHORIZED_VENUE)
    if isinstance(code, InvalidCode) or ticket is None:
        return _INVALID
    if isinstance(code, RotatingCode):
        if code.ticket_id != ticket.ticket_id or not verify_mac(code, event_keys):
            return _INVALID
        too_new = code.timestamp_ms - now_ms > policy.clock_skew_seconds * 1000
        if too_new or now_ms > policy.code_valid_until_ms(code.timestamp_ms):
            return _verified(Reason.QR_EXPIRED, ticket)
        if nonce_seen:
            return _verified(Reason.QR_ALREADY_USED, ticket)
    warning = None
    if manifest_stale:
        action, override = stale_action(policy, stale_override, now_ms)
        if action is StaleManifestAction.DENY:
            return _verified(Reason.MANIFEST_STALE, ticket)
        warning = stale_warning(override)
    decision = _decide_verified(ticket, event, policy, history, scanner, now_ms)
    if warning is not None and decision.allowed:
        return decision._replace(warning=warning)
    return decision


def _decide_verified(
    ticket: TicketFacts,
    event: EventFacts,
    policy: Policy,
    history: Sequence[PastScan],
    scanner: ScannerContext,
    now_ms: int,
) -> Decision:
    """Steps 6 to 12, for a code that is known to be genuine and fresh."""
    if ticket.event_id != event.event_id:
        return _verified(Reason.WRONG_EVENT, ticket)
    if scanner.direction is Direction.EXIT:
        return _verified(Reason.EXITED, ticket)
    status_reason = _STATUS_REASONS.get(ticket.status)
    if status_reason is not None:
        transferred_to = (
            ticket.transferred_to if status_reason is Reason.TICKET_TRANSFERRED else None
        )
        return Decision(
            False,
            status_reason,
            message_for(status_reason),
            ticket.ticket_id,
            True,
            transferred_to=transferred_to,
        )
    if now_ms < event.starts_at_ms - policy.doors_open_minutes_before_start * 60_000:
        return _verified(Reason.EVENT_NOT_STARTED, ticket)
    if now_ms > event.ends_at_ms:
        return _verified(Reason.EVENT_ENDED, ticket)
    if ticket.valid_from_ms is not None and now_ms < ticket.valid_from_ms:
        return _verified(Reason.TICKET_NOT_YET_VALID, ticket)
    if ticket.valid_until_ms is not None and now_ms > ticket.valid_until_ms:
        return _verified(Reason.TICKET_EXPIRED, ticket)
    if not zone_admits(gate_zone(scanner, policy), ticket.zones, policy):
        return _verified(Reason.WRONG_ZONE, ticket)
    first_entry = _first_entry(history)
    if first_entry is None:
        # Exits alone use up nothing: a mistaken exit scan must not lock the holder out.
        return _verified(Reason.ADMITTED, ticket)
    return _decide_reentry(ticket, policy, history, first_entry, now_ms)


def _decide_reentry(
    ticket: TicketFacts,
    policy: Policy,
    history: Sequence[PastScan],
    first_entry: PastScan,
    now_ms: int,
) -> Decision:
    """Step 12 for a ticket that has entered before (``first_entry``: its first admission,
    the one an ALREADY_SCANNED names, as DESIGN says)."""
    last = history[-1]
    since_last_ms = now_ms - last.at_ms
    inside = last.direction is Direction.ENTRY
    if (inside and since_last_ms < policy.duplicate_window_seconds * 1000) or (
        not policy.reentry_allowed
    ):
        return Decision(
            False,
            Reason.ALREADY_SCANNED,
            message_for(Reason.ALREADY_SCANNED),
            ticket.ticket_id,
            True,
            admitted_at_ms=first_entry.at_ms,
            admitted_gate=first_entry.gate,
            admitted_device=first_entry.device_id or None,
        )
    allowance = policy.admission_allowance
    entries = sum(1 for past in history if past.direction is Direction.ENTRY)
    if allowance is not None and entries >= allowance:
        return _verified(Reason.MAX_REENTRIES, ticket)
    cooldown_ms = policy.cooldown_seconds * 1000
    if since_last_ms < cooldown_ms:
        retry_after_s = -(-(cooldown_ms - since_last_ms) // 1000)
        return Decision(
            False,
            Reason.COOLDOWN,
            message_for(Reason.COOLDOWN),
            ticket.ticket_id,
            True,
            retry_after_s=retry_after_s,
        )
    return _verified(Reason.RE_ENTRY_ADMITTED, ticket)


def _first_entry(history: Sequence[PastScan]) -> PastScan | None:
    for past in history:
        if past.direction is Direction.ENTRY:
            return past
    return None


def _verified(reason: Reason, ticket: TicketFacts) -> Decision:
    return Decision(reason in ALLOWED_REASONS, reason, _MESSAGES[reason], ticket.ticket_id, True)
