"""The backend's offline side: issuing signed manifests to devices, reconciling their scans."""

from scanctl.backend.offline.issuing import (
    SEQUENCE_TIME_BITS,
    DeviceNotEligible,
    IssuedManifest,
    ManifestIssuer,
    base_ticket_seq,
    compose_sequence,
)

__all__ = [
    "SEQUENCE_TIME_BITS",
    "DeviceNotEligible",
    "IssuedManifest",
    "ManifestIssuer",
    "base_ticket_seq",
    "compose_sequence",
]
