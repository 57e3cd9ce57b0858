"""The scan path's public surface is what we think it is; the writer's ids sort by time."""

from __future__ import annotations

import uuid

import scanctl.backend.scanning
from scanctl.backend.scanning.ids import uuid7


def test_scanning_exports() -> None:
    assert set(scanctl.backend.scanning.__all__) == {
        "CatalogCache",
        "DeviceFacts",
        "MintedCode",
        "ScanJob",
        "ScanOutcome",
        "ScanService",
        "ScanWriter",
        "TicketLookup",
        "WriterStopped",
        "default_policy",
    }


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7(1_795_871_371_461 + i) for i in range(100)]
    assert ids == sorted(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert int(ids[0].replace("-", "")[:12], 16) == 1_795_871_371_461
