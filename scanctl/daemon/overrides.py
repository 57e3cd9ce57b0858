"""Door supervisors' overrides of the stale-manifest choice, journaled on the box.

The venue chooses before doors open what a gate does once its manifest has expired
(the policy's ``stale_manifest``). When the network is gone and the manifest runs out,
a supervisor on site may override that choice until a time they name (`scanctl daemon
override`, the TUI): admit with a warning, or deny. Every override is kept with who
made it, when and why, in its own table of the journal file, and uploaded to the
backend (which writes it to its audit log) once the backend answers. Whether an
override applies is `core.manifest_validity`'s rule; this module only keeps the facts.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scanctl.client import ClientError
from scanctl.core import StaleManifestAction, StaleOverride, iso_ms
from scanctl.core.ids import uuid7

__all__ = [
    "MAX_OVERRIDE_MS",
    "OverrideBook",
    "OverrideError",
    "OverrideRecord",
    "OverrideReporter",
    "upload_overrides",
]

log = logging.getLogger(__name__)

UPLOAD_EVERY_S = 2.0

MAX_OVERRIDE_MS = 24 * 3_600_000
"""An override names its end, at most this far ahead: nothing is overridden for good."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS overrides (
    id TEXT PRIMARY KEY,
    action TEXT,
    until_ms INTEGER NOT NULL,
    by TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    manifest_valid_until_ms INTEGER,
    sent_at_ms INTEGER
);
"""


_SELECT = (
    "SELECT id, action, until_ms, by, at_ms, note, manifest_valid_until_ms, sent_at_ms"
    " FROM overrides "
)


class OverrideError(ValueError):
    """An override the daemon refuses (no name, an end in the past or too far ahead)."""


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    """One override as journaled: the rule's facts plus its id and upload state."""

    id: str
    override: StaleOverride
    manifest_valid_until_ms: int | None = None
    sent_at_ms: int | None = None

    def as_dict(self, now_ms: int | None = None) -> dict[str, Any]:
        """Plain data for the local API and `daemon status` (``in_force`` at ``now_ms``)."""
        o = self.override
        data: dict[str, Any] = {
            "id": self.id,
            "action": None if o.action is None else o.action.value,
            "until_ms": o.until_ms,
            "by": o.by,
            "at_ms": o.at_ms,
            "note": o.note,
            "manifest_valid_until_ms": self.manifest_valid_until_ms,
            "sent": self.sent_at_ms is not None,
        }
        if now_ms is not None:
            data["in_force"] = o.in_force(now_ms)
        return data

    def upload(self) -> dict[str, Any]:
        """The override as the backend's ``/api/offline/overrides`` takes it."""
        o = self.override
        return {
            "id": self.id,
            "action": None if o.action is None else o.action.value,
            "until": iso_ms(o.until_ms),
            "by": o.by,
            "at": iso_ms(o.at_ms),
            "note": o.note,
            "manifestValidUntil": (
                None
                if self.manifest_valid_until_ms is None
                else iso_ms(self.manifest_valid_until_ms)
            ),
        }


class OverrideBook:
    """The overrides of one gate, in the journal file; the latest is kept in memory."""

    def __init__(self, path: Path, *, clock_ms: Callable[[], int]) -> None:
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # rare, and it opens doors
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)
        rows = self._select("ORDER BY at_ms DESC, id DESC LIMIT 1")
        self._latest: OverrideRecord | None = rows[0] if rows else None

    @property
    def latest(self) -> StaleOverride | None:
        """The latest override (decide() asks whether it is in force)."""
        return None if self._latest is None else self._latest.override

    def latest_record(self) -> OverrideRecord | None:
        return self._latest

    def apply(
        self,
        action: StaleManifestAction | None,
        *,
        until_ms: int | None,
        by: str,
        note: str = "",
        manifest_valid_until_ms: int | None = None,
    ) -> OverrideRecord:
        """Journal an override (``action`` None: end the current one) and make it the latest."""
        now = self._clock_ms()
        by = by.strip()
        if not by:
            raise OverrideError("say who decides: an override is recorded with a name")
        if action is None:
            until_ms = now
        elif until_ms is None or until_ms <= now:
            raise OverrideError("an override needs an end in the future")
        elif until_ms - now > MAX_OVERRIDE_MS:
            raise OverrideError("an override may last 24 h at most: pull a fresh manifest")
        record = OverrideRecord(
            uuid7(now),
            StaleOverride(action, until_ms, by[:100], now, note.strip()[:500]),
            manifest_valid_until_ms,
        )
        o = record.override
        with self._lock:
            self._conn.execute(
                "INSERT INTO overrides (id, action, until_ms, by, at_ms, note,"
                " manifest_valid_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    None if o.action is None else o.action.value,
                    o.until_ms,
                    o.by,
                    o.at_ms,
                    o.note,
                    manifest_valid_until_ms,
                ),
            )
            self._latest = record
        return record

    def history(self, limit: int = 50) -> list[OverrideRecord]:
        """The newest overrides first."""
        return self._select("ORDER BY at_ms DESC, id DESC LIMIT ?", (limit,))

    def unsent(self) -> list[OverrideRecord]:
        """Overrides the backend has not taken yet, oldest first."""
        return self._select("WHERE sent_at_ms IS NULL ORDER BY at_ms, id")

    def mark_sent(self, ids: list[str], sent_at_ms: int) -> None:
        with self._lock:
            self._conn.executemany(
                "UPDATE overrides SET sent_at_ms = ? WHERE id = ?",
                [(sent_at_ms, override_id) for override_id in ids],
            )
            if self._latest is not None and self._latest.id in ids:
                latest = self._latest
                self._latest = OverrideRecord(
                    latest.id, latest.override, latest.manifest_valid_until_ms, sent_at_ms
                )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _select(self, tail: str, params: tuple[object, ...] = ()) -> list[OverrideRecord]:
        with self._lock:
            rows = self._conn.execute(_SELECT + tail, params).fetchall()
        return [
            OverrideRecord(
                row[0],
                StaleOverride(
                    None if row[1] is None else StaleManifestAction(row[1]),
                    row[2],
                    row[3],
                    row[4],
                    row[5],
                ),
                row[6],
                row[7],
            )
            for row in rows
        ]


class OverrideReporter(Protocol):
    """The backend call that takes a gate's overrides (the daemon's client)."""

    async def report_overrides(
        self, device_id: str, overrides: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]: ...


async def upload_overrides(
    book: OverrideBook,
    client: OverrideReporter,
    device_id: str,
    *,
    clock_ms: Callable[[], int],
    every_s: float = UPLOAD_EVERY_S,
) -> None:
    """Report unsent overrides whenever the backend answers; runs until cancelled."""
    while True:
        pending = await asyncio.to_thread(book.unsent)
        if pending:
            try:
                await client.report_overrides(device_id, [r.upload() for r in pending])
            except ClientError as error:
                log.debug("overrides not reported yet: %s", error)
            else:
                await asyncio.to_thread(book.mark_sent, [r.id for r in pending], clock_ms())
                log.info("reported %d override(s) to the backend", len(pending))
        await asyncio.sleep(every_s)
