"""Typed answers of the backend that callers branch on (the scan decision, a page of scans)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scanctl.core import Reason, WireDecision, decision_from_wire

__all__ = ["ScanResult", "ScansPage"]


@dataclass(frozen=True)
class ScanResult:
    """The backend's decision on one scan. A denial is a value, not an exception.

    ``reason`` is a `Reason` when the backend sent a code we know, else the raw string
    (a newer backend may add reasons; we pass them on rather than fail). ``extra``
    holds every other field the backend sent (first admission time and gate,
    the new ticket id of a transfer, …), keys as sent; ``body`` the whole answer.
    """

    allowed: bool
    reason: Reason | str
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    body: Mapping[str, Any] = field(default_factory=dict)

    def wire_decision(self) -> WireDecision:
        """The backend's Decision itself, facts included, with its scan id and time
        (`core.decision_from_wire`); ValueError when the answer is not one this client
        can apply (an unknown reason, a missing ``scanId``, …)."""
        return decision_from_wire(self.body)

    @property
    def known_reason(self) -> Reason | None:
        """The reason as a `Reason`, or None when the backend sent one we do not know."""
        return self.reason if isinstance(self.reason, Reason) else None


@dataclass(frozen=True)
class ScansPage:
    """One page of ``GET /api/scans``: the scans as sent (camelCase) and the next cursor.

    ``next`` is None on the last page; passed back as ``cursor`` it continues exactly
    after the last scan of this page (the backend orders by arrival, so nothing is
    skipped when late offline uploads land between two pages).
    """

    scans: list[dict[str, Any]]
    next: str | None
