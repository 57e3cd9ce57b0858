"""The demo's tickets: a realistic mix for one event, and a few for another night."""

from __future__ import annotations

import random
from typing import Any

__all__ = ["OTHER_EVENT_TICKETS", "demo_tickets", "other_event_tickets"]

OTHER_EVENT_TICKETS = 500

# Shares of the demo event's tickets by status; the rest are active. Real sales look
# roughly like this a few hours before doors: a few refunds, fewer cancellations,
# some resold to someone else (the old code must be refused, naming the new ticket).
_REFUNDED, _CANCELLED, _TRANSFERRED, _VIP = 0.03, 0.01, 0.02, 0.05


def demo_tickets(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` tickets with ids 00000000…; transfers point at ids after ``count``."""
    rng = random.Random(seed)  # noqa: S311 - a demo, not a secret
    tickets: list[dict[str, Any]] = []
    next_id = count
    for index in range(count):
        ticket: dict[str, Any] = {"id": f"{index:08x}", "zones": ["GA"]}
        roll = rng.random()
        if roll < _REFUNDED:
            ticket["status"] = "REFUNDED"
        elif roll < _REFUNDED + _CANCELLED:
            ticket["status"] = "CANCELLED"
        elif roll < _REFUNDED + _CANCELLED + _TRANSFERRED:
            ticket["status"] = "TRANSFERRED"
            ticket["transferredTo"] = f"{next_id:08x}"
            tickets.append({"id": f"{next_id:08x}", "zones": ["GA"]})
            next_id += 1
        elif roll < _REFUNDED + _CANCELLED + _TRANSFERRED + _VIP:
            ticket["zones"] = ["GA", "VIP"]
        tickets.append(ticket)
    return tickets


def other_event_tickets(first_id: int) -> list[dict[str, Any]]:
    """Tickets for tomorrow's show: scanned tonight they are the wrong event."""
    return [{"id": f"{first_id + i:08x}"} for i in range(OTHER_EVENT_TICKETS)]
