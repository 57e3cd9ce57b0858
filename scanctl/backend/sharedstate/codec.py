"""What goes through Redis as text: a ticket's last admission and cache invalidations.

Redis is shared and may hold anything (another version, an operator's typo, a key of
another program under our prefix): decoding is strict and answers None for anything
it does not recognise, never an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from scanctl.core import Direction, PastScan

__all__ = [
    "Invalidation",
    "decode_admission",
    "decode_invalidation",
    "encode_admission",
    "encode_invalidation",
]

_MAX_TEXT = 256  # ids, gates and origins are far shorter; anything longer is not ours


@dataclass(frozen=True, slots=True)
class Invalidation:
    """One instance tells the others that cached data of a tenant changed."""

    origin: str
    kind: Literal["event", "device", "tenant"]
    tenant_id: str
    target: str = ""


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
    """An invalidation as compact JSON."""
    return json.dumps(
        {"o": message.origin, "k": message.kind, "t": message.tenant_id, "i": message.target},
        separators=(",", ":"),
    )


def decode_invalidation(raw: bytes | str | None) -> Invalidation | None:
    """The Invalidation `encode_invalidation` wrote, or None for anything else."""
    data = _object(raw)
    if data is None or set(data) != {"o", "k", "t", "i"}:
        return None
    origin, kind, tenant, target = data["o"], data["k"], data["t"], data["i"]
    if not (isinstance(origin, str) and isinstance(tenant, str) and isinstance(target, str)):
        return None
    if max(len(origin), len(tenant), len(target)) > _MAX_TEXT:
        return None
    if not origin or not tenant or (kind != "tenant" and not target):
        return None
    if kind == "event" or kind == "device" or kind == "tenant":
        return Invalidation(origin, kind, tenant, target)
    return None


_DIRECTIONS = frozenset(d.value for d in Direction)


def _object(raw: bytes | str | None) -> dict[str, object] | None:
    if raw is None or len(raw) > 4 * _MAX_TEXT:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
