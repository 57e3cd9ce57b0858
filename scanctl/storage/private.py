"""Files that hold secrets or personal data: created 0600 before SQLite opens them.

SQLite creates a missing database file with the process's umask (0644 under most
service managers) and gives its ``-wal`` and ``-shm`` files the database file's mode.
So the file is made here first, mode 0600, and the companions follow it. A file made
by an older version and readable by every user loses that permission (the owner's and
group's stay: an operator may have given the group read access on purpose).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["PRIVATE_MODE", "private_file"]

PRIVATE_MODE = 0o600
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_file(path: Path) -> Path:
    """Create ``path`` mode 0600 when missing; take away others' access to it and its
    SQLite companions when present. Returns ``path``. A missing directory is left for
    the caller's open to report, as it would have without this."""
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError, PermissionError):
            mode = companion.stat().st_mode & 0o7777
            if mode & 0o007:
                companion.chmod(mode & ~0o007)
    return path
