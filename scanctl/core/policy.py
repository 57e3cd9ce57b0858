"""Scan policy: the per-event rules decide() applies, with the defaults of DESIGN.md."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["POLICY_TEMPLATES", "Policy", "ScanMode", "StaleManifestAction", "UnzonedTickets"]

Seconds = Annotated[int, Field(ge=0, le=7 * 24 * 3600)]


class ScanMode(StrEnum):
    """Whether gates ask the backend first or decide from their manifest alone."""

    ONLINE_FIRST = "online-first"
    OFFLINE_ONLY = "offline-only"


class StaleManifestAction(StrEnum):
    """What a gate does when its offline manifest has passed its validity."""

    DENY = "deny"
    ADMIT_WITH_WARNING = "admit-with-warning"


class UnzonedTickets(StrEnum):
    """What a zoned gate does with a ticket that names no zone at all."""

    DENY = "deny"
    """WRONG_ZONE: a catalog imported without zones grants no zoned area by accident."""
    ALL_ZONES = "all-zones"
    """The ticket is valid in every zone (an all-access ticket)."""


class Policy(BaseModel):
    """The rules for one event. Immutable; unknown keys are refused so typos surface."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    duplicate_window_seconds: Seconds = 600
    """A second entry scan within this many seconds of an admission is ALREADY_SCANNED."""
    qr_lifetime_seconds: Annotated[int, Field(ge=5, le=3600)] = 30
    """How long a rotating code is valid after it was minted."""
    clock_skew_seconds: Annotated[int, Field(ge=0, le=300)] = 5
    """Allowance for clocks that disagree between the attendee's phone and the gate."""
    reentry_allowed: bool = False
    """Whether a ticket may enter again after its first admission."""
    cooldown_seconds: Seconds = 0
    """Minimum time between a ticket's last pass (entry or exit) and a re-entry."""
    max_reentries: Annotated[int, Field(ge=0, le=1000)] | None = None
    """How many re-entries a ticket gets; none means unlimited (when re-entry is allowed)."""
    doors_open_minutes_before_start: Annotated[int, Field(ge=0, le=24 * 60)] = 120
    """Entry opens this long before the event's start time."""
    gate_zones: dict[str, str] = Field(default_factory=dict)
    """Zone of each gate, for lanes and devices that do not name one themselves."""
    unzoned_tickets: UnzonedTickets = UnzonedTickets.DENY
    """What a zoned gate does with a ticket that names no zone (unzoned gates admit it)."""
    mode: ScanMode = ScanMode.ONLINE_FIRST
    """Whether gates ask the backend first (falling back offline) or never ask."""
    scanner_rate_limit_per_minute: Annotated[int, Field(ge=1, le=100_000)] = 120
    """Reads per minute from one lane (one scanner) above which scans are RATE_LIMITED."""
    stale_manifest: StaleManifestAction = StaleManifestAction.DENY
    """What an offline gate does once its manifest has expired."""

    @model_validator(mode="after")
    def _reentry_settings_need_reentry(self) -> Policy:
        if not self.reentry_allowed and self.max_reentries not in (None, 0):
            raise ValueError("max_reentries needs reentry_allowed = true")
        return self

    @property
    def admission_allowance(self) -> int | None:
        """How many entry admissions a ticket may have (None: unlimited re-entry).

        The rule decide() applies one scan at a time (ALREADY_SCANNED, MAX_REENTRIES)
        and reconciliation applies to everything the gates admitted offline.
        """
        if not self.reentry_allowed:
            return 1
        if self.max_reentries is None:
            return None
        return 1 + self.max_reentries

    def code_valid_until_ms(self, minted_at_ms: int) -> int:
        """The last moment a rotating code minted at ``minted_at_ms`` is accepted: its
        lifetime plus the clock-skew allowance. Its nonce must be remembered until then."""
        return minted_at_ms + (self.qr_lifetime_seconds + self.clock_skew_seconds) * 1000

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON or TOML."""
        return self.model_dump(mode="json")


POLICY_TEMPLATES: dict[str, Policy] = {
    "standard": Policy(),
    "no-reentry": Policy(reentry_allowed=False, duplicate_window_seconds=3600),
    "festival-reentry": Policy(
        reentry_allowed=True, cooldown_seconds=1800, max_reentries=5, duplicate_window_seconds=600
    ),
    "vip-zones": Policy(gate_zones={"vip": "VIP", "main": "GA"}),
}
