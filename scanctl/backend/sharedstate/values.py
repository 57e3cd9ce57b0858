"""Catalog values as Redis holds them (the second cache level): tickets, events, policies.

Each value is wrapped, ``{"v": …}``, so that a cached *absence* (an unknown ticket,
``{"v": null}``) differs from a value that does not decode. Decoding is strict and
answers `UNREADABLE` for anything it does not recognise: the caller then reads the
database, as on a miss.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from pydantic import ValidationError

from scanctl.core import EventFacts, Policy, TicketFacts, TicketStatus

__all__ = ["CODECS", "UNREADABLE", "Codec"]

UNREADABLE: Final = object()
"""What a decoder answers for bytes that are not a value it wrote."""

Codec = tuple[Callable[[Any], str], Callable[[bytes | str], object]]

_MAX_BYTES = 64 * 1024


def _wrap(value: dict[str, Any] | None) -> str:
    return json.dumps({"v": value}, separators=(",", ":"))


def _unwrap(raw: bytes | str) -> object:
    if len(raw) > _MAX_BYTES:
        return UNREADABLE
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return UNREADABLE
    if not isinstance(data, dict) or set(data) != {"v"}:
        return UNREADABLE
    return data["v"]


def _int_or_none(value: object) -> bool:
    return value is None or type(value) is int


def encode_ticket(ticket: TicketFacts | None) -> str:
    if ticket is None:
        return _wrap(None)
    return _wrap(
        {
            "id": ticket.ticket_id,
            "event": ticket.event_id,
            "status": ticket.status.value,
            "zones": sorted(ticket.zones),
            "from": ticket.valid_from_ms,
            "until": ticket.valid_until_ms,
            "to": ticket.transferred_to,
        }
    )


def decode_ticket(raw: bytes | str) -> object:
    data = _unwrap(raw)
    if data is None or data is UNREADABLE:
        return data
    if not isinstance(data, dict) or set(data) != {
        "id",
        "event",
        "status",
        "zones",
        "from",
        "until",
        "to",
    }:
        return UNREADABLE
    ticket_id, event_id, status, zones = data["id"], data["event"], data["status"], data["zones"]
    transferred_to = data["to"]
    if not (isinstance(ticket_id, str) and isinstance(event_id, str)):
        return UNREADABLE
    if status not in _STATUSES or not isinstance(zones, list):
        return UNREADABLE
    if not all(isinstance(zone, str) for zone in zones):
        return UNREADABLE
    if not (_int_or_none(data["from"]) and _int_or_none(data["until"])):
        return UNREADABLE
    if transferred_to is not None and not isinstance(transferred_to, str):
        return UNREADABLE
    return TicketFacts(
        ticket_id=ticket_id,
        event_id=event_id,
        status=TicketStatus(status),
        zones=frozenset(zones),
        valid_from_ms=data["from"],
        valid_until_ms=data["until"],
        transferred_to=transferred_to,
    )


def encode_event(event: EventFacts | None) -> str:
    if event is None:
        return _wrap(None)
    return _wrap(
        {
            "id": event.event_id,
            "tenant": event.tenant_id,
            "venue": event.venue_id,
            "starts": event.starts_at_ms,
            "ends": event.ends_at_ms,
        }
    )


def decode_event(raw: bytes | str) -> object:
    data = _unwrap(raw)
    if data is None or data is UNREADABLE:
        return data
    if not isinstance(data, dict) or set(data) != {"id", "tenant", "venue", "starts", "ends"}:
        return UNREADABLE
    texts = (data["id"], data["tenant"], data["venue"])
    if not all(isinstance(text, str) for text in texts):
        return UNREADABLE
    if type(data["starts"]) is not int or type(data["ends"]) is not int:
        return UNREADABLE
    return EventFacts(data["id"], data["tenant"], data["venue"], data["starts"], data["ends"])


def encode_policy(policy: Policy) -> str:
    return _wrap(policy.model_dump(mode="json"))


def decode_policy(raw: bytes | str) -> object:
    data = _unwrap(raw)
    if not isinstance(data, dict):  # a policy is never absent: the default stands in
        return UNREADABLE
    try:
        return Policy.model_validate(data)
    except (ValidationError, ValueError, TypeError):
        return UNREADABLE


_STATUSES = frozenset(status.value for status in TicketStatus)

CODECS: dict[str, Codec] = {
    "tickets": (encode_ticket, decode_ticket),
    "events": (encode_event, decode_event),
    "policies": (encode_policy, decode_policy),
}
"""The caches that have a second level, by their name in `CatalogCache.caches()`."""
