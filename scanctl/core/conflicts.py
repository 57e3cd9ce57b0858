"""Double entries: which admissions of one ticket are in conflict, and of what kind.

Pure: the admitted passes of one ticket (entries and exits, from every gate, decided
online or offline) and the event's policy come in; conflicts come out. The backend runs
it over its stored scans; a gate can run it over the admissions it hears of.

Kinds, most specific first — each double entry is reported once, under the first kind
that explains it:

1. ``same-code`` — one rotating code (same nonce) admitted more than once: a screenshot
   passed around. Always a conflict, exits or not: a nonce is good for one use.
2. ``same-printed-code`` — two consecutive entry admissions of one printed (static) code
   with no exit between them, inside the duplicate window (or at all, when re-entry is
   off): a photocopy.
3. ``entry-without-exit`` — the same for codes that differ (two rotating codes of one
   ticket, say): the ticket went in twice and never came out.
4. ``over-allowance`` — an entry admission past the policy's allowance (1, or 1 + max
   re-entries) that none of the above explains: people went out and in once too often.

Each conflict lists its admissions in time order (the first is the one that came first)
and has a stable id, a hash of its kind, event, ticket and the admissions' keys, so
detecting it again gives the same id and a gate can acknowledge it once.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scanctl.core.decision_wire import iso_ms
from scanctl.core.policy import Policy
from scanctl.core.tickets import Direction
from scanctl.core.tokens import RotatingCode, StaticCode, parse_code, printed_hash_of

__all__ = [
    "Admission",
    "Conflict",
    "ConflictKind",
    "code_key",
    "conflict_id",
    "conflict_to_wire",
    "find_conflicts",
]


class ConflictKind(StrEnum):
    """How a ticket came to be admitted once too often (stable codes: never rename)."""

    SAME_CODE = "same-code"
    SAME_PRINTED_CODE = "same-printed-code"
    ENTRY_WITHOUT_EXIT = "entry-without-exit"
    OVER_ALLOWANCE = "over-allowance"


@dataclass(frozen=True, slots=True)
class Admission:
    """One admitted pass of a ticket (an entry, or an exit that ends a stay).

    ``code`` is `code_key` of what was scanned (None when unknown); ``lane`` the scanner
    of the device, when known; ``decided_by`` ``online`` or ``offline``;
    ``recorded_at_ms`` when the backend (or the gate) learnt of it.
    """

    scan_id: str
    device_id: str
    at_ms: int
    direction: Direction = Direction.ENTRY
    gate: str | None = None
    lane: str | None = None
    decided_by: str = "offline"
    code: str | None = None
    recorded_at_ms: int = 0

    @property
    def key(self) -> str:
        """Scan ids belong to the device that made them: the pair names a scan."""
        return f"{self.device_id}/{self.scan_id}"


@dataclass(frozen=True, slots=True)
class Conflict:
    """A double entry of one ticket, with every admission involved (time order)."""

    id: str
    kind: ConflictKind
    event_id: str
    ticket_id: str
    admissions: tuple[Admission, ...]

    @property
    def first(self) -> Admission:
        """The admission that came first (the others are the double entries)."""
        return self.admissions[0]

    @property
    def detected_at_ms(self) -> int:
        """When the last of its admissions became known: the conflict is known since."""
        return max(a.recorded_at_ms for a in self.admissions)

    def involves(self, device_id: str) -> bool:
        """Whether one of its admissions was made by that device."""
        return any(a.device_id == device_id for a in self.admissions)


def code_key(raw: str) -> str | None:
    """What identifies the code that was scanned, never the code itself: a rotating
    code's nonce, or the SHA-256 of a printed secret. None for anything else."""
    parsed = parse_code(raw)
    if isinstance(parsed, RotatingCode):
        return f"nonce:{parsed.nonce}"
    if isinstance(parsed, StaticCode):
        return f"printed:{parsed.secret_hash}"
    printed = printed_hash_of(raw)  # gates and the backend keep a printed code as its hash
    return None if printed is None else f"printed:{printed}"


def conflict_id(
    kind: ConflictKind, event_id: str, ticket_id: str, admissions: Iterable[Admission]
) -> str:
    """The stable id of a conflict: the same evidence always gives the same id."""
    keys = ",".join(sorted(a.key for a in admissions))
    digest = hashlib.sha256(f"{kind.value}|{event_id}|{ticket_id}|{keys}".encode())
    return digest.hexdigest()[:32]


def _conflict(
    kind: ConflictKind, event_id: str, ticket_id: str, admissions: Sequence[Admission]
) -> Conflict:
    return Conflict(
        conflict_id(kind, event_id, ticket_id, admissions),
        kind,
        event_id,
        ticket_id,
        tuple(admissions),
    )


def find_conflicts(
    event_id: str, ticket_id: str, passes: Iterable[Admission], policy: Policy
) -> list[Conflict]:
    """Every conflict among the admitted passes of one ticket, in the order found."""
    ordered = sorted(passes, key=lambda a: (a.at_ms, a.key))
    entries = [a for a in ordered if a.direction is Direction.ENTRY]
    found: list[Conflict] = []
    explained: set[str] = set()  # entries found to be the later side of a conflict

    by_nonce: dict[str, list[Admission]] = defaultdict(list)
    for entry in entries:
        if entry.code is not None and entry.code.startswith("nonce:"):
            by_nonce[entry.code].append(entry)
    for group in by_nonce.values():
        if len(group) > 1:
            found.append(_conflict(ConflictKind.SAME_CODE, event_id, ticket_id, group))
            explained.update(a.key for a in group[1:])

    window_ms = policy.duplicate_window_seconds * 1000
    previous: Admission | None = None
    for current in ordered:
        if current.direction is Direction.EXIT:
            previous = None  # left: the next entry starts a new stay
            continue
        if previous is not None and (
            not policy.reentry_allowed or current.at_ms - previous.at_ms < window_ms
        ):
            shared = previous.code if previous.code == current.code else None
            if shared is None or not shared.startswith("nonce:"):  # same-code: reported
                kind = ConflictKind.ENTRY_WITHOUT_EXIT
                if shared is not None:
                    kind = ConflictKind.SAME_PRINTED_CODE
                found.append(_conflict(kind, event_id, ticket_id, (previous, current)))
            explained.add(current.key)
        previous = current

    allowance = policy.admission_allowance
    if allowance is not None:
        for extra in entries[allowance:]:
            if extra.key not in explained:
                evidence = (*entries[:allowance], extra)
                found.append(_conflict(ConflictKind.OVER_ALLOWANCE, event_id, ticket_id, evidence))
    return found


def conflict_to_wire(conflict: Conflict) -> dict[str, Any]:
    """A conflict as the backend's ``GET /api/conflicts`` lists it (camelCase, RFC 3339
    times): the one form gates keep, whether the backend or a peer gate made it known."""
    first = conflict.first
    return {
        "id": conflict.id,
        "kind": conflict.kind.value,
        "eventId": conflict.event_id,
        "ticketId": conflict.ticket_id,
        "detectedAt": iso_ms(conflict.detected_at_ms),
        "firstScanId": first.scan_id,
        "admissions": [
            {
                "scanId": a.scan_id,
                "deviceId": a.device_id,
                "gate": a.gate,
                "lane": a.lane,
                "direction": a.direction.value,
                "scannedAt": iso_ms(a.at_ms),
                "decidedBy": a.decided_by,
                "first": a is first,
            }
            for a in conflict.admissions
        ],
    }
