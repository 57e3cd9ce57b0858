"""Where a scan happens: the zone a lane guards, and the unit a rate limit counts.

One rule for both sides. The backend (online) and the gate daemon (offline) each build a
`ScannerContext` and ask these functions; neither has a rule of its own.

Zones, most specific first:

1. the lane's own zone (``zone`` of a ``[[scanner]]`` in gate.toml, ``zone`` of a scan
   request) — a gate computer may have lanes into several zones;
2. else the zone the device was registered to (``scanctl device register --zone``);
3. else the policy's zone of the lane's gate (``gate_zones``);
4. else the gate is not zoned and every ticket of the event passes it.

A lane that names a zone other than its device's registered zone is a set-up error, not
a scan: `lane_zone_conflict` says why, and the daemon refuses to start (the backend
refuses such a request) rather than pick one of the two.

At a zoned gate, a ticket passes when it grants that zone. A ticket that grants no zone
at all passes only when the policy says unzoned tickets are all-zones tickets
(``unzoned_tickets = "all-zones"``): by default a catalog imported without zones opens
no zoned door.

Rate limits count reads per lane: a device's lanes are separate scanners, each with the
policy's ``scanner_rate_limit_per_minute``. A client that names no lane is one lane.
"""

from __future__ import annotations

from collections.abc import Set

from scanctl.core.policy import Policy, UnzonedTickets
from scanctl.core.tickets import ScannerContext

__all__ = [
    "PLACE_NAME_PATTERN",
    "gate_zone",
    "lane_zone_conflict",
    "rate_limit_unit",
    "zone_admits",
]

PLACE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.:/-]*$"
"""What a gate, lane or zone name may look like (at most 64 characters): the backend
refuses other names in a scan request, so the gate refuses them in its configuration."""


def gate_zone(scanner: ScannerContext, policy: Policy) -> str | None:
    """The zone this scanner's lane guards, or None for an unzoned gate."""
    return scanner.zone or scanner.device_zone or policy.gate_zones.get(scanner.gate)


def zone_admits(zone: str | None, ticket_zones: Set[str], policy: Policy) -> bool:
    """Whether a ticket granting ``ticket_zones`` may pass a gate guarding ``zone``."""
    if zone is None:
        return True
    if not ticket_zones:
        return policy.unzoned_tickets is UnzonedTickets.ALL_ZONES
    return zone in ticket_zones


def lane_zone_conflict(device_zone: str | None, lane_zone: str | None) -> str | None:
    """Why a lane cannot scan on a device registered to a zone, or None when it can."""
    if device_zone is None or lane_zone is None or device_zone == lane_zone:
        return None
    return (
        f"the lane's zone {lane_zone!r} contradicts the device's registered zone"
        f" {device_zone!r}: a device registered to a zone scans only in that zone"
        " (register a device without --zone for lanes into several zones)"
    )


def rate_limit_unit(scanner: ScannerContext) -> str:
    """The key one rate-limit window counts: the device's lane."""
    return f"{scanner.device_id}/{scanner.lane}"
