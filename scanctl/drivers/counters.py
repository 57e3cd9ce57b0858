"""Per-scanner counters the daemon shows: good frames, garbage by kind, reconnects."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["DriverCounters"]


@dataclass(slots=True)
class DriverCounters:
    """What one driver has seen since it was built. Mutated by the driver only.

    ``malformed`` counts frames of binary noise (bytes no scanner sends in a code) and
    stray bytes outside STX/ETX framing; ``over_long`` frames longer than the maximum;
    ``partial_discarded`` frames cut off by the inter-byte timeout or a disconnect;
    ``refused_symbology`` codes of a symbology the gate does not accept.
    ``ssi_acks`` and ``ssi_naks`` count a Zebra SSI decoder's answers to our packets;
    ``feedback_retried`` feedback sent again after a NAK.
    """

    frames_ok: int = 0
    malformed: int = 0
    over_long: int = 0
    partial_discarded: int = 0
    refused_symbology: int = 0
    reconnects: int = 0
    feedback_sent: int = 0
    feedback_failed: int = 0
    feedback_retried: int = 0
    ssi_acks: int = 0
    ssi_naks: int = 0

    def snapshot(self) -> dict[str, int]:
        """A copy as plain data (for the local API and metrics)."""
        return asdict(self)

    @property
    def rejected(self) -> int:
        """Everything read that did not become a scan."""
        return self.malformed + self.over_long + self.partial_discarded + self.refused_symbology
