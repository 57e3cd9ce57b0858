"""What goes through Redis as text: a ticket's last admission and cache invalidations.

Invalidations are pub/sub messages every instance reads; one that does not decode is
ignored by the listener (`InvalidationBus`), so an old instance that meets a newer
kind of message keeps working as before, only without that message.

Redis is shared and may hold anything (another version, an operator's typo, a key of
another program under our prefix): decoding is strict and answers None for anything
it does not recognise, never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from scanctl.core import Direction, PastScan

__all__ = [
    "MAX_TICKETS",
    "Invalidation",
    "Kind",
    "decode_admission",
    "decode_invalidation",
    "encode_admission",
    "encode_invalidation",
]

_MAX_TEXT = 256  # ids, gates and origins are far shorter; anything longer is not ours
_TICKET_ID = re.compile(r"[0-9a-f]{8}")
MAX_TICKETS = 500
"""Ticket ids one message carries; a longer list is sent as several messages."""

Kind = Literal["event", "device", "tenant", "upstream"]


@dataclass(frozen=True, slots=True)
class Invalidation:
    """One instance tells the others that cached data of a tenant changed.

    ``upstream``: the ticket and event services changed the event ``target`` — the
    tickets named in ``tickets``, or with None the event and all its tickets. Other
    kinds carry no tickets.
    """

    origin: str
    kind: Kind
    tenant_id: str
    target: str = ""
    tickets: tuple[str, ...] | None = None


def encode_admission(past: PastScan) -> str:
    """A PastScan as compact JSON."""
    return json.dumps(
        {"at": past.at_ms, "gate": past.gate, "dir": past.direction.value, "dev": past.device_id},
        separators=(",", ":"),
    )


def decode_admission(raw: bytes | str | None) -> PastScan | None:
    """The PastScan `encode_admission` wrote, or None for anything else."""
    data = _object(raw)
    if data is None or set(data) != {"at", "gate", "dir", "dev"}:
        return None
    at, gate, direction, device = data["at"], data["gate"], data["dir"], data["dev"]
    if type(at) is not int or not 0 <= at < 2**53:
        return None
    if not (isinstance(gate, str) and isinstance(device, str)) or direction not in _DIRECTIONS:
        return None
    if len(gate) > _MAX_TEXT or len(device) > _MAX_TEXT:
        return None
    return PastScan(at, gate, Direction(direction), device)


def encode_invalidation(message: Invalidation) -> str:
    """An invalidation as compact JSON (``s``, the tickets, only in upstream ones)."""
    data: dict[str, object] = {
        "o": message.origin,
        "k": message.kind,
        "t": message.tenant_id,
        "i": message.target,
    }
    if message.kind == "upstream":
        data["s"] = None if message.tickets is None else list(message.tickets)
    return json.dumps(data, separators=(",", ":"))


def decode_invalidation(raw: bytes | str | None) -> Invalidation | None:
    """The Invalidation `encode_invalidation` wrote, or None for anything else."""
    data = _object(raw, _MAX_INVALIDATION)
    if data is None or set(data) - {"s"} != {"o", "k", "t", "i"}:
        return None
    origin, kind, tenant, target = data["o"], data["k"], data["t"], data["i"]
    if not (isinstance(origin, str) and isinstance(tenant, str) and isinstance(target, str)):
        return None
    if max(len(origin), len(tenant), len(target)) > _MAX_TEXT:
        return None
    if not origin or not tenant or (kind != "tenant" and not target):
        return None
    if kind == "upstream" and "s" in data:
        tickets = _tickets(data["s"])
        if tickets is False:
            return None
        return Invalidation(origin, kind, tenant, target, tickets)
    if "s" not in data and (kind == "event" or kind == "device" or kind == "tenant"):
        return Invalidation(origin, kind, tenant, target)
    return None


def _tickets(value: object) -> tuple[str, ...] | Literal[False] | None:
    """The ticket ids of an upstream invalidation (None: all), or False when malformed."""
    if value is None:
        return None
    if not isinstance(value, list) or not 0 < len(value) <= MAX_TICKETS:
        return False
    if not all(isinstance(t, str) and _TICKET_ID.fullmatch(t) for t in value):
        return False
    return tuple(value)


_DIRECTIONS = frozenset(d.value for d in Direction)


# The longest invalidation: four texts and MAX_TICKETS quoted ids with their commas.
_MAX_INVALIDATION = 4 * _MAX_TEXT + 11 * MAX_TICKETS


def _object(raw: bytes | str | None, limit: int = 4 * _MAX_TEXT) -> dict[str, object] | None:
    if raw is None or len(raw) > limit:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
