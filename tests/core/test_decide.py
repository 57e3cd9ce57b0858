"""decide(): one table-driven case per reason and per boundary, plus properties."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.core.decide import Decision, decide, deny
from scanctl.core.keys import derive_event_key, mint_token
from scanctl.core.manifest_validity import StaleOverride
from scanctl.core.policy import Policy, StaleManifestAction, UnzonedTickets
from scanctl.core.reasons import Reason
from scanctl.core.tickets import (
    Direction,
    EventFacts,
    PastScan,
    ScannerContext,
    TicketFacts,
    TicketStatus,
)
from scanctl.core.tokens import ParsedCode, StaticCode, parse_code

SECRET = "k7W2pX9vQ4mZ8rT1yU6bN3cF5hJ0dS2aL9gE4wR7tY1u"
TENANT = "3f2b8c1e-1111-4a4a-8b8b-000000000001"
VENUE = "5a5a5a5a-3333-4c4c-8d8d-000000000003"
EVENT_ID = "9d8c7b6a-2222-4b4b-9c9c-000000000002"
OTHER_EVENT = "9d8c7b6a-2222-4b4b-9c9c-0000000000ff"
KEY = derive_event_key(SECRET, TENANT, EVENT_ID)
NOW = 1_764_320_000_000
MINUTE = 60_000
ADMIT_WARN = StaleManifestAction.ADMIT_WITH_WARNING
TICKET_ID = "0a1b2c3d"
STATIC_SECRET = "Zx9_k3Jq-LmN0pQrStUvWxYz12"

EVENT = EventFacts(
    EVENT_ID, TENANT, VENUE, starts_at_ms=NOW + 60 * MINUTE, ends_at_ms=NOW + 300 * MINUTE
)
TICKET = TicketFacts(TICKET_ID, EVENT_ID)
SCANNER = ScannerContext("device-1", VENUE, "north")
REENTRY = Policy(reentry_allowed=True, duplicate_window_seconds=600)


def token(at_ms: int = NOW, nonce: str = "0011223344556677", key: bytes = KEY) -> ParsedCode:
    return parse_code(mint_token(key, TICKET_ID, at_ms, nonce))


def entry(at_ms: int, gate: str = "north") -> PastScan:
    return PastScan(at_ms, gate, Direction.ENTRY, "device-1")


def exit_(at_ms: int) -> PastScan:
    return PastScan(at_ms, "south", Direction.EXIT, "device-2")


@dataclass
class Case:
    """One scan: defaults describe a first, valid entry scan at NOW."""

    expect: Reason
    code: ParsedCode = field(default_factory=token)
    ticket: TicketFacts | None = TICKET
    policy: Policy = field(default_factory=Policy)
    history: tuple[PastScan, ...] = ()
    scanner: ScannerContext = SCANNER
    now_ms: int = NOW
    keys: tuple[bytes, ...] = (KEY,)
    nonce_seen: bool = False
    manifest_stale: bool = False
    stale_override: StaleOverride | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def run(self) -> Decision:
        return decide(
            self.code,
            ticket=self.ticket,
            event=EVENT,
            policy=self.policy,
            history=self.history,
            scanner=self.scanner,
            now_ms=self.now_ms,
            event_keys=self.keys,
            nonce_seen=self.nonce_seen,
            manifest_stale=self.manifest_stale,
            stale_override=self.stale_override,
        )


LIFETIME_MS = (30 + 5) * 1000  # code lifetime plus the default skew allowance
DOORS_OPEN = EVENT.starts_at_ms - 120 * MINUTE

CASES: dict[str, Case] = {
    "first scan admits": Case(Reason.ADMITTED),
    "static printed ticket admits": Case(Reason.ADMITTED, code=parse_code(STATIC_SECRET)),
    "unknown static secret": Case(Reason.INVALID, code=parse_code(STATIC_SECRET), ticket=None),
    "garbage": Case(Reason.INVALID, code=parse_code("not a ticket")),
    "unknown ticket": Case(Reason.INVALID, ticket=None),
    "ticket id does not match the code": Case(
        Reason.INVALID, ticket=replace(TICKET, ticket_id="ffffffff")
    ),
    "forged mac": Case(Reason.INVALID, keys=(derive_event_key("x" * 40, TENANT, EVENT_ID),)),
    "forged even when replayed": Case(Reason.INVALID, keys=(), nonce_seen=True),
    "previous key during rotation": Case(Reason.ADMITTED, keys=(b"\x01" * 32, KEY)),
    "other venue's scanner": Case(
        Reason.UNAUTHORIZED_VENUE, scanner=replace(SCANNER, venue_id="other-venue")
    ),
    "code at the end of its lifetime": Case(Reason.ADMITTED, code=token(NOW - LIFETIME_MS)),
    "code one ms past its lifetime": Case(Reason.QR_EXPIRED, code=token(NOW - LIFETIME_MS - 1)),
    "code from the future within skew": Case(Reason.ADMITTED, code=token(NOW + 5000)),
    "code from the future past skew": Case(Reason.QR_EXPIRED, code=token(NOW + 5001)),
    "nonce already seen": Case(Reason.QR_ALREADY_USED, nonce_seen=True),
    "expired beats replayed": Case(
        Reason.QR_EXPIRED, code=token(NOW - LIFETIME_MS - 1), nonce_seen=True
    ),
    "stale manifest denies by default": Case(Reason.MANIFEST_STALE, manifest_stale=True),
    "stale manifest may admit with a warning": Case(
        Reason.ADMITTED,
        manifest_stale=True,
        policy=Policy(stale_manifest=StaleManifestAction.ADMIT_WITH_WARNING),
        facts={"warning": "offline ticket data is out of date"},
    ),
    "stale manifest warning is not attached to denials": Case(
        Reason.TICKET_REFUNDED,
        manifest_stale=True,
        policy=Policy(stale_manifest=StaleManifestAction.ADMIT_WITH_WARNING),
        ticket=replace(TICKET, status=TicketStatus.REFUNDED),
        facts={"warning": None},
    ),
    "supervisor override admits a stale manifest with a warning": Case(
        Reason.ADMITTED,
        manifest_stale=True,
        stale_override=StaleOverride(ADMIT_WARN, NOW + MINUTE, "sam", NOW - MINUTE),
        facts={"warning": "offline ticket data is out of date; admitted on sam's override"},
    ),
    "an override past its end leaves the policy's deny": Case(
        Reason.MANIFEST_STALE,
        manifest_stale=True,
        stale_override=StaleOverride(ADMIT_WARN, NOW, "sam", NOW - MINUTE),
    ),
    "a deny override beats an admitting policy": Case(
        Reason.MANIFEST_STALE,
        manifest_stale=True,
        policy=Policy(stale_manifest=ADMIT_WARN),
        stale_override=StaleOverride(StaleManifestAction.DENY, NOW + 1, "sam", NOW),
    ),
    "an override does nothing to a fresh manifest": Case(
        Reason.ADMITTED,
        stale_override=StaleOverride(ADMIT_WARN, NOW + MINUTE, "sam", NOW - MINUTE),
        facts={"warning": None},
    ),
    "wrong event": Case(Reason.WRONG_EVENT, ticket=replace(TICKET, event_id=OTHER_EVENT)),
    "refunded": Case(Reason.TICKET_REFUNDED, ticket=replace(TICKET, status=TicketStatus.REFUNDED)),
    "cancelled": Case(
        Reason.TICKET_CANCELLED, ticket=replace(TICKET, status=TicketStatus.CANCELLED)
    ),
    "transferred names the new ticket": Case(
        Reason.TICKET_TRANSFERRED,
        ticket=replace(TICKET, status=TicketStatus.TRANSFERRED, transferred_to="ffee0011"),
        facts={"transferred_to": "ffee0011"},
    ),
    "exit lane records an exit": Case(
        Reason.EXITED, scanner=replace(SCANNER, direction=Direction.EXIT), history=(entry(NOW - 1),)
    ),
    "exit of a refunded ticket is still an exit": Case(
        Reason.EXITED,
        scanner=replace(SCANNER, direction=Direction.EXIT),
        ticket=replace(TICKET, status=TicketStatus.REFUNDED),
    ),
    "one ms before doors open": Case(
        Reason.EVENT_NOT_STARTED, now_ms=DOORS_OPEN - 1, code=token(DOORS_OPEN - 1)
    ),
    "exactly when doors open": Case(Reason.ADMITTED, now_ms=DOORS_OPEN, code=token(DOORS_OPEN)),
    "exactly at the end": Case(
        Reason.ADMITTED, now_ms=EVENT.ends_at_ms, code=token(EVENT.ends_at_ms)
    ),
    "one ms after the end": Case(
        Reason.EVENT_ENDED, now_ms=EVENT.ends_at_ms + 1, code=token(EVENT.ends_at_ms + 1)
    ),
    "ticket not yet valid": Case(
        Reason.TICKET_NOT_YET_VALID, ticket=replace(TICKET, valid_from_ms=NOW + 1)
    ),
    "ticket valid from now": Case(Reason.ADMITTED, ticket=replace(TICKET, valid_from_ms=NOW)),
    "ticket expired": Case(Reason.TICKET_EXPIRED, ticket=replace(TICKET, valid_until_ms=NOW - 1)),
    "ticket valid until now": Case(Reason.ADMITTED, ticket=replace(TICKET, valid_until_ms=NOW)),
    "zoned ticket at another zone's scanner": Case(
        Reason.WRONG_ZONE,
        ticket=replace(TICKET, zones=frozenset({"GA"})),
        scanner=replace(SCANNER, zone="VIP"),
    ),
    "zoned ticket at its zone": Case(
        Reason.ADMITTED,
        ticket=replace(TICKET, zones=frozenset({"GA", "VIP"})),
        scanner=replace(SCANNER, zone="VIP"),
    ),
    "gate zone from the policy": Case(
        Reason.WRONG_ZONE,
        ticket=replace(TICKET, zones=frozenset({"GA"})),
        policy=Policy(gate_zones={"north": "VIP"}),
    ),
    "unzoned ticket at a zoned lane": Case(Reason.WRONG_ZONE, scanner=replace(SCANNER, zone="VIP")),
    "unzoned ticket at a zoned lane, all-zones policy": Case(
        Reason.ADMITTED,
        scanner=replace(SCANNER, zone="VIP"),
        policy=Policy(unzoned_tickets=UnzonedTickets.ALL_ZONES),
    ),
    "unzoned ticket at an unzoned gate": Case(Reason.ADMITTED),
    "device zone when the lane names none": Case(
        Reason.WRONG_ZONE,
        ticket=replace(TICKET, zones=frozenset({"VIP"})),
        scanner=replace(SCANNER, device_zone="GA"),
    ),
    "the lane's zone before the device's": Case(
        Reason.ADMITTED,
        ticket=replace(TICKET, zones=frozenset({"VIP"})),
        scanner=replace(SCANNER, zone="VIP", device_zone="GA"),
    ),
    "the device's zone before the policy's gate zone": Case(
        Reason.ADMITTED,
        ticket=replace(TICKET, zones=frozenset({"GA"})),
        scanner=replace(SCANNER, device_zone="GA"),
        policy=Policy(gate_zones={"north": "VIP"}),
    ),
    "second entry inside the window": Case(
        Reason.ALREADY_SCANNED,
        history=(entry(NOW - 10 * MINUTE + 1, gate="west"),),
        facts={
            "admitted_at_ms": NOW - 10 * MINUTE + 1,
            "admitted_gate": "west",
            "admitted_device": "device-1",
        },
    ),
    "a second entry names the first admission, not the latest": Case(
        Reason.ALREADY_SCANNED,
        policy=REENTRY,
        history=(
            entry(NOW - 90 * MINUTE, gate="west"),
            exit_(NOW - 80 * MINUTE),
            entry(NOW - MINUTE, gate="east"),
        ),
        facts={
            "admitted_at_ms": NOW - 90 * MINUTE,
            "admitted_gate": "west",
            "admitted_device": "device-1",
        },
    ),
    "second entry after the window without re-entry": Case(
        Reason.ALREADY_SCANNED,
        history=(entry(NOW - 60 * MINUTE),),
        facts={"admitted_at_ms": NOW - 60 * MINUTE},
    ),
    "exit does not grant re-entry when re-entry is off": Case(
        Reason.ALREADY_SCANNED, history=(entry(NOW - 60 * MINUTE), exit_(NOW - 30 * MINUTE))
    ),
    "re-entry one ms inside the window": Case(
        Reason.ALREADY_SCANNED, policy=REENTRY, history=(entry(NOW - 10 * MINUTE + 1),)
    ),
    "re-entry exactly at the window": Case(
        Reason.RE_ENTRY_ADMITTED, policy=REENTRY, history=(entry(NOW - 10 * MINUTE),)
    ),
    "re-entry right after an exit": Case(
        Reason.RE_ENTRY_ADMITTED,
        policy=REENTRY,
        history=(entry(NOW - 2 * MINUTE), exit_(NOW - MINUTE)),
    ),
    "cooldown after an exit": Case(
        Reason.COOLDOWN,
        policy=REENTRY.model_copy(update={"cooldown_seconds": 1800}),
        history=(entry(NOW - 2 * MINUTE), exit_(NOW - MINUTE)),
        facts={"retry_after_s": 29 * 60},
    ),
    "cooldown rounds its retry-after up": Case(
        Reason.COOLDOWN,
        policy=REENTRY.model_copy(update={"cooldown_seconds": 1800}),
        history=(entry(NOW - 20 * MINUTE), exit_(NOW - 1)),
        facts={"retry_after_s": 1800},
    ),
    "cooldown over exactly at its end": Case(
        Reason.RE_ENTRY_ADMITTED,
        policy=REENTRY.model_copy(update={"cooldown_seconds": 1800}),
        history=(entry(NOW - 40 * MINUTE), exit_(NOW - 30 * MINUTE)),
    ),
    "max re-entries used": Case(
        Reason.MAX_REENTRIES,
        policy=REENTRY.model_copy(update={"max_reentries": 1}),
        history=(
            entry(NOW - 90 * MINUTE),
            exit_(NOW - 80 * MINUTE),
            entry(NOW - 70 * MINUTE),
            exit_(NOW - MINUTE),
        ),
    ),
    "last re-entry allowed": Case(
        Reason.RE_ENTRY_ADMITTED,
        policy=REENTRY.model_copy(update={"max_reentries": 1}),
        history=(entry(NOW - 90 * MINUTE), exit_(NOW - 80 * MINUTE)),
    ),
    "an exit alone uses up no admission": Case(
        Reason.ADMITTED,
        policy=REENTRY.model_copy(update={"max_reentries": 0}),
        history=(exit_(NOW - MINUTE),),
    ),
    "a mistaken exit does not lock out a single-entry ticket": Case(
        Reason.ADMITTED, history=(exit_(NOW - MINUTE),)
    ),
    "exit then entry: the entry counts": Case(
        Reason.ALREADY_SCANNED,
        history=(exit_(NOW - 30 * MINUTE), entry(NOW - 20 * MINUTE)),
        facts={"admitted_at_ms": NOW - 20 * MINUTE},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decide(case: Case) -> None:
    decision = case.run()
    assert decision.reason is case.expect
    assert decision.allowed is case.expect.allowed
    assert decision.message
    for name, value in case.facts.items():
        assert getattr(decision, name) == value, name


def test_specific_reasons_come_only_with_a_verified_code() -> None:
    for case in CASES.values():
        decision = case.run()
        assert decision.verified is decision.reason.verified  # what the wire codec relies on
        if decision.reason in (Reason.INVALID, Reason.UNAUTHORIZED_VENUE):
            assert not decision.verified
            assert decision.ticket_id is None
        else:
            assert decision.verified
            assert decision.ticket_id == TICKET_ID


def test_every_reason_decide_can_give_has_a_case() -> None:
    covered = {case.expect for case in CASES.values()}
    assert covered == set(Reason) - {Reason.RATE_LIMITED}


def test_deny_builds_a_decision_for_caller_side_reasons() -> None:
    decision = deny(Reason.RATE_LIMITED, TICKET_ID)
    assert decision == Decision(False, Reason.RATE_LIMITED, decision.message, TICKET_ID, False)


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_decide_never_raises_on_arbitrary_input(data: str | bytes) -> None:
    code = parse_code(data)
    decision = Case(Reason.INVALID, code=code).run()
    # A static code is genuine exactly when the caller found a ticket by its hash.
    assert decision.reason is Reason.INVALID or isinstance(code, StaticCode)


@settings(max_examples=200)
@given(
    max_reentries=st.integers(min_value=0, max_value=4),
    cooldown_s=st.integers(min_value=0, max_value=120),
    window_s=st.integers(min_value=0, max_value=120),
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=200_000), st.sampled_from(list(Direction))),
        max_size=40,
    ),
)
def test_a_ticket_is_never_admitted_more_often_than_the_policy_allows(
    max_reentries: int, cooldown_s: int, window_s: int, steps: list[tuple[int, Direction]]
) -> None:
    policy = Policy(
        reentry_allowed=True,
        max_reentries=max_reentries,
        cooldown_seconds=cooldown_s,
        duplicate_window_seconds=window_s,
    )
    history: list[PastScan] = []
    now = NOW
    for index, (gap_ms, direction) in enumerate(steps):
        now += gap_ms
        decision = decide(
            token(now, nonce=f"{index:016x}"),
            ticket=TICKET,
            event=EVENT,
            policy=policy,
            history=history,
            scanner=replace(SCANNER, direction=direction),
            now_ms=now,
            event_keys=(KEY,),
        )
        if decision.allowed:
            history.append(PastScan(now, "north", direction))
    entries = sum(1 for past in history if past.direction is Direction.ENTRY)
    assert entries <= 1 + max_reentries


@given(steps=st.lists(st.integers(min_value=0, max_value=10**7), max_size=30))
def test_without_reentry_a_ticket_enters_once(steps: list[int]) -> None:
    history: list[PastScan] = []
    now = NOW
    for index, gap_ms in enumerate(steps):
        now += gap_ms
        decision = decide(
            token(now, nonce=f"{index:016x}"),
            ticket=TICKET,
            event=replace(EVENT, ends_at_ms=NOW + 10**9),
            policy=Policy(),
            history=history,
            scanner=SCANNER,
            now_ms=now,
            event_keys=(KEY,),
        )
        if decision.allowed:
            history.append(entry(now))
    assert len(history) <= 1
