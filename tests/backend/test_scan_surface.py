"""The scan path's public surface is what we think it is; the writer's ids sort by time."""

from __future__ import annotations

import scanctl.backend.scanning


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
