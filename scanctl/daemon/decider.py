"""The gate's offline decision: a raw read in, a Decision and its journal entry out.

Thin on purpose: parsing and every rule live in ``scanctl.core``; this module only
looks things up in the manifest and the gate's state, calls ``decide()``, and updates
the state at once so the very next read already sees this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scanctl.core import (
    Decision,
    Direction,
    EventFacts,
    PastScan,
    Policy,
    RawScan,
    Reason,
    RotatingCode,
    ScannerContext,
    StaticCode,
    TicketFacts,
    decide,
    deny,
    parse_code,
)
from scanctl.core.ids import uuid7
from scanctl.daemon.journal import JournalEntry
from scanctl.daemon.state import GateState, SlidingWindowLimiter

__all__ = ["GateContext", "GateDecider", "Lane", "TicketSource"]

BACKEND_GATE = "(backend)"
"""Gate name for admissions the manifest reports without saying where they happened."""


class TicketSource(Protocol):
    """What the decider needs from the held manifest."""

    def ticket(self, ticket_id: str) -> TicketFacts | None: ...

    def ticket_by_static_hash(self, static_hash: str) -> TicketFacts | None: ...

    def admissions_so_far(self, ticket_id: str) -> int: ...

    def is_stale(self, now_ms: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class GateContext:
    """The event this gate scans for, its policy, the event keys and when they were issued."""

    event: EventFacts
    policy: Policy
    event_keys: tuple[bytes, ...]
    device_id: str
    issued_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class Lane:
    """One scanner's place at the door."""

    scanner: str
    gate: str
    direction: Direction = Direction.ENTRY
    zone: str | None = None


class GateDecider:
    """Decides reads for every lane of one gate computer."""

    def __init__(self, context: GateContext, tickets: TicketSource, state: GateState) -> None:
        self.context = context
        self.tickets = tickets
        self.state = state
        self.limiter = SlidingWindowLimiter(context.policy.scanner_rate_limit_per_minute)

    def replace_context(self, context: GateContext) -> None:
        """Decide with a refreshed manifest's event, policy and keys from now on."""
        self.context = context
        self.limiter.limit = context.policy.scanner_rate_limit_per_minute

    def decide(
        self, raw: RawScan, lane: Lane, now_ms: int, *, decided_by: str = "offline"
    ) -> tuple[Decision, JournalEntry]:
        """Decide one read and update the gate state; the caller journals the entry."""
        context = self.context
        code = parse_code(raw.payload)
        ticket = self._lookup(code)
        nonce = code.nonce if isinstance(code, RotatingCode) else None
        if not self.limiter.allow(lane.scanner, now_ms):
            decision = deny(Reason.RATE_LIMITED, ticket.ticket_id if ticket else None)
        else:
            decision = decide(
                code,
                ticket=ticket,
                event=context.event,
                policy=context.policy,
                history=self._history(ticket),
                scanner=ScannerContext(
                    context.device_id, context.event.venue_id, lane.gate, lane.zone, lane.direction
                ),
                now_ms=now_ms,
                event_keys=context.event_keys,
                nonce_seen=nonce is not None and self.state.nonce_seen(nonce, now_ms),
                manifest_stale=self.tickets.is_stale(now_ms),
            )
        entry = self._remember(raw, lane, now_ms, code, decision, decided_by)
        return decision, entry

    def record_online(
        self, raw: RawScan, lane: Lane, now_ms: int, decision: Decision
    ) -> JournalEntry:
        """Take the backend's decision into the gate state and make its journal entry."""
        return self._remember(raw, lane, now_ms, parse_code(raw.payload), decision, "online")

    def _lookup(self, code: object) -> TicketFacts | None:
        if isinstance(code, RotatingCode):
            return self.tickets.ticket(code.ticket_id)
        if isinstance(code, StaticCode):
            return self.tickets.ticket_by_static_hash(code.secret_hash)
        return None

    def _history(self, ticket: TicketFacts | None) -> Sequence[PastScan]:
        if ticket is None:
            return ()
        local = self.state.history(ticket.ticket_id)
        known = self.tickets.admissions_so_far(ticket.ticket_id)
        local_entries = sum(1 for past in local if past.direction is Direction.ENTRY)
        if known <= local_entries:
            return local
        # The backend counted admissions we have not seen (another gate, before our
        # manifest was cut): they happened no later than the manifest's issue time.
        unseen = PastScan(self.context.issued_at_ms, BACKEND_GATE, Direction.ENTRY, "")
        return sorted([*([unseen] * (known - local_entries)), *local], key=lambda p: p.at_ms)

    def _remember(
        self,
        raw: RawScan,
        lane: Lane,
        now_ms: int,
        code: object,
        decision: Decision,
        decided_by: str,
    ) -> JournalEntry:
        nonce = nonce_expiry = None
        if decision.verified and isinstance(code, RotatingCode):
            policy = self.context.policy
            lifetime_ms = (policy.qr_lifetime_seconds + policy.clock_skew_seconds) * 1000
            nonce, nonce_expiry = code.nonce, code.timestamp_ms + lifetime_ms
            self.state.remember_nonce(nonce, nonce_expiry)
        scan_id = uuid7(now_ms)
        if decision.allowed and decision.ticket_id is not None:
            self.state.add_pass(
                decision.ticket_id,
                PastScan(now_ms, lane.gate, lane.direction, self.context.device_id),
            )
        return JournalEntry(
            scan_id=scan_id,
            device_id=self.context.device_id,
            ticket_id=decision.ticket_id,
            raw=raw.payload,
            symbology=raw.symbology,
            scanner=lane.scanner,
            gate=lane.gate,
            direction=lane.direction,
            reason=decision.reason,
            allowed=decision.allowed,
            decided_by=decided_by,
            scanned_at_ms=now_ms,
            nonce=nonce,
            nonce_expires_at_ms=nonce_expiry,
        )
