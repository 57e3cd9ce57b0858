"""Background upkeep of a SQLite write-ahead log, off the commit path.

SQLite normally checkpoints inside a commit once the WAL passes 1,000 pages: that
commit then copies the log into the database and fsyncs both, and the scan waiting on
it (with every scan queued behind it) waits 10–150 ms. The daemon's journal and the
backend's database turn that off (``PRAGMA wal_autocheckpoint=0``) and this thread does
it instead, from its own connection: a PASSIVE checkpoint never makes the writer wait.

With ``synchronous=NORMAL`` a commit reaches the operating system, not the disk; this
thread then fsyncs the log every ``flush_interval_s`` when something was committed, so
the window a power cut can take is bounded by that interval (a crash of the daemon
itself loses nothing either way: the OS holds the data). An owner that must not answer
before its commit is on disk asks for a flush at once (``request_flush``) and hears
back through ``on_flushed``: commits that land while one fsync runs share the next, so
the committing thread never waits for the disk itself.
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

__all__ = ["CHECKPOINT_INTERVAL_S", "FlushListener", "WalKeeper"]

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 1.0
"""How often the log is copied back into the database (it then stays a few MB at most)."""

FlushListener = Callable[[int, OSError | None], None]
"""``(mark, error)`` after each flush: everything up to ``mark`` is on disk, or the
fsync failed with ``error`` (the disk can no longer be trusted)."""


class WalKeeper:
    """A thread that checkpoints the WAL of ``path`` and, if asked, fsyncs it on a cadence."""

    def __init__(
        self,
        path: Path,
        *,
        committed: Callable[[], int] = lambda: 0,
        flush_interval_s: float | None = None,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        on_flushed: FlushListener | None = None,
    ) -> None:
        """``committed`` reads the owner's commit mark (what ``flushed`` then reports);
        ``flush_interval_s`` None means no flushes on a cadence (the owner's commits are
        synchronous, or it asks with ``request_flush``)."""
        self._path = path
        self._wal = path.with_name(path.name + "-wal")
        self._committed = committed
        self._flush_interval_s = flush_interval_s
        self._checkpoint_interval_s = checkpoint_interval_s
        self._on_flushed = on_flushed
        self._stop = threading.Event()
        self._flush_wanted = threading.Event()
        self._flush_lock = threading.Lock()
        self.flushed = committed()
        """The owner's commit mark the last fsync covered."""
        self.checkpoints = 0
        self.flushes = 0
        self._thread = threading.Thread(target=self._run, name="journal-wal", daemon=True)
        self._thread.start()

    def request_flush(self) -> None:
        """Ask the thread to fsync the log now (any thread; never waits)."""
        self._flush_wanted.set()

    def flush_now(self) -> None:
        """Fsync the log in the caller's thread, then report it as the thread would."""
        self._flush()

    def close(self) -> None:
        """Stop, after one last flush of what is committed."""
        self._stop.set()
        self._flush_wanted.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            now = time.monotonic()
            next_checkpoint = now + self._checkpoint_interval_s
            interval = self._flush_interval_s
            next_flush = now + interval if interval is not None else float("inf")
            while not self._stop.is_set():
                timeout = max(0.0, min(next_checkpoint, next_flush) - time.monotonic())
                if self._flush_wanted.wait(timeout):
                    # Cleared before the fsync: a commit that asks meanwhile gets another.
                    self._flush_wanted.clear()
                    self._flush()
                now = time.monotonic()
                if now >= next_checkpoint:
                    self._checkpoint(conn)
                    next_checkpoint = time.monotonic() + self._checkpoint_interval_s
                elif interval is not None and now >= next_flush:
                    self._flush()
                if interval is not None and now >= next_flush:
                    next_flush = now + interval
            self._flush()
        finally:
            conn.close()

    def _flush(self) -> None:
        with self._flush_lock:
            # Read the mark first: every commit it counts is in the OS before the fsync.
            mark = self._committed()
            if mark == self.flushed:
                return
            try:
                fd = os.open(self._wal, os.O_RDONLY)
            except FileNotFoundError:  # checkpointed and removed: already in the database
                self._flushed(mark, None)
                return
            try:
                # fsync flushes the file's dirty pages whichever descriptor wrote them.
                os.fsync(fd)
            except OSError as error:
                log.exception("cannot fsync the write-ahead log %s", self._wal)
                self._flushed(mark, error)
                return
            finally:
                os.close(fd)
            self.flushes += 1
            self._flushed(mark, None)

    def _flushed(self, mark: int, error: OSError | None) -> None:
        if error is None:
            self.flushed = mark
        if self._on_flushed is not None:
            self._on_flushed(mark, error)

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        mark = self._committed()
        # A busy or failed checkpoint is retried on the next interval; the log just grows.
        with contextlib.suppress(sqlite3.Error):
            # PASSIVE copies what it can without waiting for, or blocking, the writer.
            busy, log_frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            # Only a checkpoint that copied the whole log (and fsynced the database after)
            # counts as a flush: one held back by a reader may not have synced anything.
            if not busy and copied == log_frames:
                with self._flush_lock:
                    if mark > self.flushed:
                        self._flushed(mark, None)
