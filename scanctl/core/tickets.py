"""What decide() needs to know about a ticket, its event and the scanner at the door."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Direction",
    "EventFacts",
    "PastScan",
    "ScannerContext",
    "TicketFacts",
    "TicketStatus",
]


class TicketStatus(StrEnum):
    """Lifecycle state of a ticket as the ticketing platform reports it."""

    ACTIVE = "ACTIVE"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"
    TRANSFERRED = "TRANSFERRED"


class Direction(StrEnum):
    """Which way a scanner's lane lets people through."""

    ENTRY = "entry"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """A ticket as the catalog or the offline manifest knows it. No personal data.

    ``zones`` lists the zones the ticket grants; an empty set means the ticket is not
    zoned and is valid at every gate of its event. Times are ms since the epoch.
    """

    ticket_id: str
    event_id: str
    status: TicketStatus = TicketStatus.ACTIVE
    zones: frozenset[str] = field(default_factory=frozenset)
    valid_from_ms: int | None = None
    valid_until_ms: int | None = None
    transferred_to: str | None = None


@dataclass(frozen=True, slots=True)
class EventFacts:
    """The event a gate is scanning for (not necessarily the ticket's event)."""

    event_id: str
    tenant_id: str
    venue_id: str
    starts_at_ms: int
    ends_at_ms: int


@dataclass(frozen=True, slots=True)
class ScannerContext:
    """Who is scanning, and where: the device, its venue, its gate, zone and direction.

    ``zone`` is the zone the lane names itself, ``device_zone`` the one the device was
    registered to, ``lane`` the scanner's name on its device (see `core.lanes` for how
    the zone of a scan and the unit of the rate limit follow from them).
    """

    device_id: str
    venue_id: str
    gate: str
    zone: str | None = None
    direction: Direction = Direction.ENTRY
    device_zone: str | None = None
    lane: str = ""


@dataclass(frozen=True, slots=True)
class PastScan:
    """One earlier *admitted* pass of a ticket (an entry or an exit), oldest first."""

    at_ms: int
    gate: str
    direction: Direction = Direction.ENTRY
    device_id: str = ""
