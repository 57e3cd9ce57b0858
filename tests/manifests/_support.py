"""Constants and helpers the manifests tests share (imported relatively)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scanctl.core import TicketStatus, static_code_hash
from scanctl.manifests import ManifestEntry

TENANT = "tenant-a"
VENUE = "venue-1"
EVENT_ID = "event-1"
DEVICE = "gate-device-1"
ISSUED = 1_700_000_000_000
VALID_UNTIL = ISSUED + 4 * 3600 * 1000
NOW = ISSUED + 60_000

Build = Callable[..., bytes]


def sample_entries(n: int = 40) -> list[ManifestEntry]:
    """A mix of every status, zoned and unzoned, windows, transfers and static codes."""
    statuses = list(TicketStatus)
    entries = []
    for i in range(n):
        status = statuses[i % len(statuses)]
        transferred = f"{i + 0xABC00000:08x}" if status is TicketStatus.TRANSFERRED else None
        secret = f"printed-secret-number-{i:04d}"
        entries.append(
            ManifestEntry(
                ticket_id=f"{i * 7919 + 1:08x}",
                status=status,
                zones=frozenset({"GA"}) if i % 3 else frozenset({"VIP", "GA"}),
                valid_from_ms=ISSUED if i % 5 == 0 else None,
                valid_until_ms=VALID_UNTIL if i % 5 == 0 else None,
                transferred_to=transferred,
                admissions_so_far=i % 3,
                static_hash=static_code_hash(secret) if i % 4 == 0 else None,
            )
        )
    return entries


def verify_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"tenant_id": TENANT, "venue_id": VENUE, "now_ms": NOW}
    kwargs.update(overrides)
    return kwargs
