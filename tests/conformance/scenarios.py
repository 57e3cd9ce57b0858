"""The conformance table: door scenarios that every way of deciding must answer alike.

A scenario is an event profile (policy and time window), the tickets it needs, the
device's registered zone, and steps: which lane reads which code. `expect` is the reason
of every step, so a path that agrees with the others but is wrong still fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanctl.core import Direction, Reason

__all__ = ["LANES", "PROFILES", "SCENARIOS", "Lane", "Profile", "Scenario", "Step"]


@dataclass(frozen=True)
class Lane:
    """A scanner of the gate: its gate name, zone and direction."""

    gate: str
    zone: str | None = None
    direction: Direction = Direction.ENTRY


LANES = {
    "main": Lane("north"),
    "main-2": Lane("north"),  # a second scanner at the same gate
    "exit": Lane("north", direction=Direction.EXIT),
    "vip": Lane("vip-door", zone="VIP"),
    "ga": Lane("ga-door", zone="GA"),
    "vip-gate": Lane("vip"),  # no zone of its own: the policy's gate_zones names it
}


@dataclass(frozen=True)
class Profile:
    """An event: its policy and its window (hours from now)."""

    policy: dict[str, Any]
    starts_h: float = -1
    ends_h: float = 5


PROFILES = {
    "standard": Profile({}),
    "reentry": Profile(
        {"reentry_allowed": True, "duplicate_window_seconds": 0, "max_reentries": 1}
    ),
    "window": Profile({"reentry_allowed": True, "duplicate_window_seconds": 600}),
    "cooldown": Profile(
        {"reentry_allowed": True, "duplicate_window_seconds": 0, "cooldown_seconds": 3600}
    ),
    "zones": Profile({"gate_zones": {"vip": "VIP"}}),
    "all-zones": Profile({"unzoned_tickets": "all-zones"}),
    "rate": Profile({"scanner_rate_limit_per_minute": 2}),
    "not-started": Profile({"doors_open_minutes_before_start": 60}, starts_h=5, ends_h=9),
    "ended": Profile({}, starts_h=-6, ends_h=-1),
}


@dataclass(frozen=True)
class Step:
    """One read: the lane, which ticket's code, and what kind of code.

    Codes: ``fresh`` (just minted), ``same`` (the previous step's code again: a
    screenshot), ``expired`` (minted ten minutes ago), ``forged`` (bad MAC),
    ``printed`` (the ticket's static secret), ``garbage``.
    """

    lane: str = "main"
    ticket: int = 0
    code: str = "fresh"


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    expect: tuple[Reason, ...]
    profile: str = "standard"
    tickets: tuple[dict[str, Any], ...] = ({},)
    device_zone: str | None = None
    covers: frozenset[str] = field(default_factory=frozenset)


R = Reason
ENTER = Step()
EXIT = Step("exit")

SCENARIOS = [
    Scenario("first entry", (ENTER,), (R.ADMITTED,)),
    Scenario("second entry", (ENTER, ENTER), (R.ADMITTED, R.ALREADY_SCANNED)),
    Scenario("a screenshot", (ENTER, Step(code="same")), (R.ADMITTED, R.QR_ALREADY_USED)),
    Scenario("an old code", (Step(code="expired"),), (R.QR_EXPIRED,)),
    Scenario("a forged code", (Step(code="forged"),), (R.INVALID,)),
    Scenario("garbage", (Step(code="garbage"),), (R.INVALID,)),
    Scenario("a printed ticket", (Step(code="printed"),), (R.ADMITTED,)),
    Scenario(
        "a printed ticket twice",
        (Step(code="printed"), Step(code="printed")),
        (R.ADMITTED, R.ALREADY_SCANNED),
    ),
    Scenario("refunded", (ENTER,), (R.TICKET_REFUNDED,), tickets=({"status": "REFUNDED"},)),
    Scenario("cancelled", (ENTER,), (R.TICKET_CANCELLED,), tickets=({"status": "CANCELLED"},)),
    Scenario(
        "transferred",
        (ENTER,),
        (R.TICKET_TRANSFERRED,),
        tickets=({"status": "TRANSFERRED", "transferredTo": "0fedcba9"},),
    ),
    Scenario("ticket not valid yet", (ENTER,), (R.TICKET_NOT_YET_VALID,), tickets=({"from_h": 1},)),
    Scenario("ticket expired", (ENTER,), (R.TICKET_EXPIRED,), tickets=({"until_h": -0.5},)),
    Scenario("doors not open", (ENTER,), (R.EVENT_NOT_STARTED,), profile="not-started"),
    Scenario("event over", (ENTER,), (R.EVENT_ENDED,), profile="ended"),
    Scenario("exit lets anyone out", (EXIT,), (R.EXITED,), tickets=({"status": "REFUNDED"},)),
    Scenario(
        "a mistaken exit does not lock a single-entry ticket out",
        (EXIT, ENTER, ENTER),
        (R.EXITED, R.ADMITTED, R.ALREADY_SCANNED),
    ),
    Scenario(
        "exit and back in, once",
        (ENTER, EXIT, ENTER, EXIT, ENTER),
        (R.ADMITTED, R.EXITED, R.RE_ENTRY_ADMITTED, R.EXITED, R.MAX_REENTRIES),
        profile="reentry",
    ),
    Scenario(
        "re-entry without leaving, inside the window",
        (ENTER, ENTER),
        (R.ADMITTED, R.ALREADY_SCANNED),
        profile="window",
    ),
    Scenario(
        "out and in again inside the window",
        (ENTER, EXIT, ENTER),
        (R.ADMITTED, R.EXITED, R.RE_ENTRY_ADMITTED),
        profile="window",
    ),
    Scenario(
        "cooldown after an exit",
        (ENTER, EXIT, ENTER),
        (R.ADMITTED, R.EXITED, R.COOLDOWN),
        profile="cooldown",
    ),
    Scenario(
        "a zoned lane",
        (Step("vip"), Step("ga", ticket=1)),
        (R.WRONG_ZONE, R.ADMITTED),
        tickets=({"zones": ["GA"]}, {"zones": ["GA"]}),
    ),
    Scenario(
        "an unzoned ticket at a zoned lane",
        (Step("vip"), ENTER),
        (R.WRONG_ZONE, R.ADMITTED),
    ),
    Scenario(
        "an unzoned ticket at a zoned lane, all-zones policy",
        (Step("vip"),),
        (R.ADMITTED,),
        profile="all-zones",
    ),
    Scenario(
        "the device's zone",
        (ENTER, Step(ticket=1)),
        (R.WRONG_ZONE, R.ADMITTED),
        tickets=({"zones": ["VIP"]}, {"zones": ["GA"]}),
        device_zone="GA",
    ),
    Scenario(
        "the device's zone over the policy's gate zone",
        (Step("vip-gate"),),
        (R.ADMITTED,),
        profile="zones",
        tickets=({"zones": ["GA"]},),
        device_zone="GA",
    ),
    Scenario(
        "the policy's gate zone",
        (Step("vip-gate"), Step("vip-gate", ticket=1)),
        (R.WRONG_ZONE, R.ADMITTED),
        profile="zones",
        tickets=({"zones": ["GA"]}, {"zones": ["VIP"]}),
    ),
    Scenario(
        "rate limits count per lane",
        (
            Step("main", 0, "garbage"),
            Step("main-2", 0, "garbage"),
            Step("main", 0, "garbage"),
            Step("main-2", 0, "garbage"),
            Step("main", 0, "garbage"),
        ),
        (R.INVALID, R.INVALID, R.INVALID, R.INVALID, R.RATE_LIMITED),
        profile="rate",
    ),
]
