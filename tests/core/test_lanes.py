"""core.lanes: the one rule for a lane's zone, unzoned tickets and the rate-limit unit."""

from __future__ import annotations

import pytest

from scanctl.core.lanes import gate_zone, lane_zone_conflict, rate_limit_unit, zone_admits
from scanctl.core.policy import Policy, UnzonedTickets
from scanctl.core.tickets import ScannerContext

VENUE = "5a5a5a5a-3333-4c4c-8d8d-000000000003"
GATES = Policy(gate_zones={"north": "GA", "vip": "VIP"})


@pytest.mark.parametrize(
    ("lane", "device", "gate", "expected"),
    [
        ("VIP", "VIP", "north", "VIP"),  # the lane's own zone first
        ("VIP", None, "north", "VIP"),
        (None, "GA", "vip", "GA"),  # then the device's registered zone
        (None, None, "vip", "VIP"),  # then the policy's zone of the gate
        (None, None, "south", None),  # else unzoned
    ],
)
def test_the_zone_a_lane_guards(
    lane: str | None, device: str | None, gate: str, expected: str | None
) -> None:
    scanner = ScannerContext("d", VENUE, gate, zone=lane, device_zone=device)
    assert gate_zone(scanner, GATES) == expected


def test_zoned_tickets_pass_only_their_zones() -> None:
    assert zone_admits("VIP", frozenset({"GA", "VIP"}), Policy())
    assert not zone_admits("VIP", frozenset({"GA"}), Policy())
    assert zone_admits(None, frozenset({"GA"}), Policy())


def test_unzoned_tickets_are_not_all_access_unless_the_policy_says_so() -> None:
    assert not zone_admits("VIP", frozenset(), Policy())
    assert zone_admits("VIP", frozenset(), Policy(unzoned_tickets=UnzonedTickets.ALL_ZONES))
    assert zone_admits(None, frozenset(), Policy())


def test_a_lane_may_not_contradict_its_devices_zone() -> None:
    assert lane_zone_conflict("GA", "GA") is None
    assert lane_zone_conflict(None, "VIP") is None
    assert lane_zone_conflict("GA", None) is None
    problem = lane_zone_conflict("GA", "VIP")
    assert problem is not None and "'VIP'" in problem and "'GA'" in problem


def test_rate_limits_count_per_lane() -> None:
    one = ScannerContext("device-1", VENUE, "north", lane="lane-1")
    two = ScannerContext("device-1", VENUE, "north", lane="lane-2")
    other_gate = ScannerContext("device-1", VENUE, "south", lane="lane-1")
    assert rate_limit_unit(one) != rate_limit_unit(two)
    assert rate_limit_unit(one) == rate_limit_unit(other_gate)
    assert rate_limit_unit(ScannerContext("device-1", VENUE, "north")) == "device-1/"
