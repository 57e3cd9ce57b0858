"""Background upkeep of a SQLite write-ahead log, off the commit path.

SQLite normally checkpoints inside a commit once the WAL passes 1,000 pages: that
commit then copies the log into the database and fsyncs both, and the scan waiting on
it (with every scan queued behind it) waits 10–150 ms. The daemon's journal and the
backend's database turn that off (``PRAGMA wal_autocheckpoint=0``) and this thread does
it instead, from its own connection: a PASSIVE checkpoint never makes the writer wait.

With ``synchronous=NORMAL`` a commit reaches the operating system, not the disk; this
thread then fsyncs the log every ``flush_interval_s`` when something was committed, so
the window a power cut can take is bounded by that interval (a crash of the daemon
itself loses nothing either way: the OS holds the data).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["CHECKPOINT_INTERVAL_S", "WalKeeper"]

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 1.0
"""How often the log is copied back into the database (it then stays a few MB at most)."""


class WalKeeper:
    """A thread that checkpoints the WAL of ``path`` and, if asked, fsyncs it on a cadence."""

    def __init__(
        self,
        path: Path,
        *,
        committed: Callable[[], int] = lambda: 0,
        flush_interval_s: float | None = None,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    ) -> None:
        """``committed`` reads the owner's commit mark (what ``flushed`` then reports);
        ``flush_interval_s`` None means every commit fsyncs itself (synchronous=FULL)."""
        self._path = path
        self._wal = path.with_name(path.name + "-wal")
        self._committed = committed
        self._flush_interval_s = flush_interval_s
        self._checkpoint_interval_s = checkpoint_interval_s
        self._stop = threading.Event()
        self.flushed = committed()
        """The journal's commit mark the last fsync covered."""
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._run, name="journal-wal", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop, after one last flush of what is committed."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            tick = self._flush_interval_s or self._checkpoint_interval_s
            next_checkpoint = time.monotonic() + self._checkpoint_interval_s
            while not self._stop.wait(tick):
                if time.monotonic() >= next_checkpoint:
                    self._checkpoint(conn)
                    next_checkpoint = time.monotonic() + self._checkpoint_interval_s
                elif self._flush_interval_s is not None:
                    self._flush()
            if self._flush_interval_s is not None:
                self._flush()
        finally:
            conn.close()

    def _flush(self) -> None:
        mark = self._committed()
        if mark == self.flushed:
            return
        try:
            fd = os.open(self._wal, os.O_RDONLY)
        except FileNotFoundError:  # checkpointed and removed: already in the database
            self.flushed = mark
            return
        try:
            # fsync flushes the file's dirty pages whichever descriptor wrote them.
            os.fsync(fd)
            self.flushed = mark
        except OSError:
            log.exception("cannot fsync the journal's write-ahead log %s", self._wal)
        finally:
            os.close(fd)

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        mark = self._committed()
        # A busy or failed checkpoint is retried on the next interval; the log just grows.
        with contextlib.suppress(sqlite3.Error):
            # PASSIVE copies what it can without waiting for, or blocking, the writer;
            # with synchronous=NORMAL it fsyncs the log first, so it counts as a flush.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.checkpoints += 1
            self.flushed = mark
