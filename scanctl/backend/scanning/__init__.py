"""The online scan path: cached catalog reads, the group-committing writer, the service."""

from scanctl.backend.scanning.cache import CatalogCache
from scanctl.backend.scanning.service import (
    DeviceFacts,
    MintedCode,
    ScanService,
    TicketLookup,
    default_policy,
)
from scanctl.backend.scanning.writer import ScanJob, ScanOutcome, ScanWriter, WriterStopped

__all__ = [
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
]
