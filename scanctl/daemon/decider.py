"""The gate's offline decision: a read in, a Decision and its journal entry out.

Thin on purpose: parsing and every rule live in ``scanctl.core``; this module only
looks things up in the manifest and the gate's state, calls ``decide()``, and updates
the state at once so the very next read already sees this one.

A read is named and timed the moment it arrives (`GateDecider.take`): its scan id and
read time are the same in the online request, the journal and the reconciliation push,
so however the read is decided it is one scan. The rate limit counts every read of a
lane there, online or not; only an offline decision is refused by it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from scanctl.core import (
    Decision,
    Direction,
    EventFacts,
    InvalidCode,
    ParsedCode,
    PastScan,
    Policy,
    RawScan,
    Reason,
    RotatingCode,
    ScannerContext,
    StaleOverride,
    StaticCode,
    TicketFacts,
    decide,
    deny,
    parse_code,
    rate_limit_unit,
    stored_payload,
)
from scanctl.core.ids import uuid7
from scanctl.daemon.journal import JournalEntry
from scanctl.daemon.state import GateState, SlidingWindowLimiter

__all__ = [
    "GateContext",
    "GateDecider",
    "Lane",
    "Read",
    "TicketSource",
    "invalid_cause",
    "journaled_payload",
]

log = logging.getLogger(__name__)

BACKEND_GATE = "(backend)"
"""Gate name for admissions the manifest reports without saying where they happened."""


def journaled_payload(payload: bytes, code: ParsedCode) -> bytes:
    """What the journal keeps (and uploads) of a read: a printed code's hash, not the
    code (`core.stored_payload`); any other read as it came."""
    stored = stored_payload(code)
    return payload if stored is None else stored.encode("ascii")


def invalid_cause(code: object, ticket: TicketFacts | None) -> str:
    """Why a read was INVALID, for the log only (the code itself is never logged)."""
    if isinstance(code, InvalidCode):
        return f"bad format ({code.detail})"
    if ticket is None:
        return "unknown static code" if isinstance(code, StaticCode) else "unknown ticket"
    return "MAC did not verify"


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
    device_zone: str | None = None
    """The zone the device was registered to (the manifest's, else device.json's)."""


@dataclass(frozen=True, slots=True)
class Lane:
    """One scanner's place at the door."""

    scanner: str
    gate: str
    direction: Direction = Direction.ENTRY
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class Read:
    """One read at a lane, named and timed where it happened.

    ``scan_id`` is the id the scan is stored under everywhere (the online request, the
    journal, reconciliation); ``read_ms`` is when the code was read: the time the offline
    decision is made at and the journal keeps. ``within_rate`` says whether the read fitted
    its lane's rate limit.
    """

    raw: RawScan
    lane: Lane
    scan_id: str
    read_ms: int
    within_rate: bool = True


class GateDecider:
    """Decides reads for every lane of one gate computer."""

    def __init__(self, context: GateContext, tickets: TicketSource, state: GateState) -> None:
        self.context = context
        self.tickets = tickets
        self.state = state
        self.limiter = SlidingWindowLimiter(context.policy.scanner_rate_limit_per_minute)
        self.stale_override: StaleOverride | None = None
        """A supervisor's latest override of the policy's ``stale_manifest`` (a fact for
        decide(), which says whether it applies)."""
        self._scanners: dict[Lane, tuple[ScannerContext, str]] = {}

    def replace_context(self, context: GateContext) -> None:
        """Decide with a refreshed manifest's event, policy, keys and zone from now on."""
        self.context = context
        self.limiter.limit = context.policy.scanner_rate_limit_per_minute
        self._scanners.clear()

    def scanner(self, lane: Lane) -> ScannerContext:
        """Who scans at ``lane``, as ``decide()`` and the rate limit see it."""
        return self._scanner_and_unit(lane)[0]

    def _scanner_and_unit(self, lane: Lane) -> tuple[ScannerContext, str]:
        known = self._scanners.get(lane)
        if known is None:
            context = self.context
            scanner = ScannerContext(
                context.device_id,
                context.event.venue_id,
                lane.gate,
                lane.zone,
                lane.direction,
                device_zone=context.device_zone,
                lane=lane.scanner,
            )
            known = self._scanners[lane] = (scanner, rate_limit_unit(scanner))
        return known

    def take(self, raw: RawScan, lane: Lane, read_ms: int) -> Read:
        """Name and time a read as it arrives, and count it against its lane's rate limit
        (every read counts, however it is then decided)."""
        within_rate = self.limiter.allow(self._scanner_and_unit(lane)[1], read_ms)
        return Read(raw, lane, uuid7(read_ms), read_ms, within_rate)

    def decide(self, read: Read) -> tuple[Decision, JournalEntry]:
        """Decide one read offline and update the gate state; the caller journals the entry."""
        context = self.context
        now_ms = read.read_ms
        code = parse_code(read.raw.payload)
        ticket = self._lookup(code)
        nonce = code.nonce if isinstance(code, RotatingCode) else None
        if not read.within_rate:
            decision = deny(Reason.RATE_LIMITED, ticket.ticket_id if ticket else None)
        else:
            decision = decide(
                code,
                ticket=ticket,
                event=context.event,
                policy=context.policy,
                history=self._history(ticket),
                scanner=self.scanner(read.lane),
                now_ms=now_ms,
                event_keys=context.event_keys,
                nonce_seen=nonce is not None and self.state.nonce_seen(nonce, now_ms),
                manifest_stale=self.tickets.is_stale(now_ms),
                stale_override=self.stale_override,
            )
        if decision.reason is Reason.INVALID and log.isEnabledFor(logging.DEBUG):
            log.debug(
                "scan %s INVALID: %s",
                read.scan_id,
                invalid_cause(code, ticket),
                extra={"scanner": read.lane.scanner, "gate": read.lane.gate},
            )
        return decision, self._remember(read, code, decision, "offline")

    def record_online(self, read: Read, decision: Decision) -> JournalEntry:
        """Take the backend's decision into the gate state and make its journal entry."""
        return self._remember(read, parse_code(read.raw.payload), decision, "online")

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
        self, read: Read, code: ParsedCode, decision: Decision, decided_by: str
    ) -> JournalEntry:
        raw, lane = read.raw, read.lane
        nonce = nonce_expiry = None
        if decision.verified and isinstance(code, RotatingCode):
            nonce = code.nonce
            nonce_expiry = self.context.policy.code_valid_until_ms(code.timestamp_ms)
            self.state.remember_nonce(nonce, nonce_expiry)
        if decision.allowed and decision.ticket_id is not None:
            self.state.add_pass(
                decision.ticket_id,
                PastScan(read.read_ms, lane.gate, lane.direction, self.context.device_id),
            )
        return JournalEntry(
            scan_id=read.scan_id,
            device_id=self.context.device_id,
            ticket_id=decision.ticket_id,
            raw=journaled_payload(raw.payload, code),
            symbology=raw.symbology,
            scanner=lane.scanner,
            gate=lane.gate,
            direction=lane.direction,
            reason=decision.reason,
            allowed=decision.allowed,
            decided_by=decided_by,
            scanned_at_ms=read.read_ms,
            nonce=nonce,
            nonce_expires_at_ms=nonce_expiry,
            warning=decision.warning,
        )
