"""Writers of exports that stream: a JSON document, ndjson lines and CSV, row by row.

A JSON document is written as its items arrive (``{"scans": [`` … ``], "next": …}``)
rather than built first, so ``scans list --all --format json`` of a large event uses
the memory of one page. Every writer flushes per item: a reader at the other end of a
pipe (``| head``) sees rows at once, and a closed pipe ends the export quietly.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["SCAN_FIELDS", "write_csv", "write_json", "write_ndjson"]

SCAN_FIELDS = (
    "id",
    "eventId",
    "ticketId",
    "deviceId",
    "gate",
    "direction",
    "raw",
    "reason",
    "allowed",
    "decidedBy",
    "scannedAt",
    "recordedAt",
    "late",
)
"""The keys of a scan, as ``GET /api/scans`` names them, in the order of CSV columns."""


def _dump(item: Any, indent: int | None) -> str:
    return json.dumps(item, indent=indent, sort_keys=True, ensure_ascii=False, default=str)


def write_json(key: str, items: Iterable[Any], trailer: Callable[[], str | None]) -> None:
    """``{"<key>": [items…], "next": trailer()}``: the list streamed, the cursor at the end."""
    out = sys.stdout
    out.write(f"{{\n  {json.dumps(key)}: [")
    first = True
    for item in items:
        body = _dump(item, 2).replace("\n", "\n    ")
        out.write(("\n    " if first else ",\n    ") + body)
        first = False
        out.flush()
    out.write("\n  ]" if not first else "]")
    out.write(f',\n  "next": {json.dumps(trailer())}\n}}\n')
    out.flush()


def write_ndjson(items: Iterable[Any]) -> None:
    """One compact JSON object per line."""
    for item in items:
        sys.stdout.write(_dump(item, None) + "\n")
        sys.stdout.flush()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else value


def write_csv(fields: Sequence[str], items: Iterable[dict[str, Any]]) -> None:
    """RFC 4180 CSV: a header line of ``fields``, then one line per item (null is empty)."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(fields)
    for item in items:
        writer.writerow([_csv_value(item.get(name)) for name in fields])
        sys.stdout.flush()
