"""private_file: files with scans, keys and tickets are the owner's, whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from scanctl.storage import private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_and_its_sqlite_companions_are_0600_under_any_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = private_file(tmp_path / "gate.db")
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE t (x)")
            assert mode(path) == 0o600
            assert mode(tmp_path / "gate.db-wal") == 0o600
        db.close()
    finally:
        os.umask(old)


def test_an_old_file_readable_by_everyone_loses_that_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "backend.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)
    (tmp_path / "backend.sqlite3-wal").write_bytes(b"")
    (tmp_path / "backend.sqlite3-wal").chmod(0o666)
    private_file(path)
    assert mode(path) == 0o640
    assert mode(tmp_path / "backend.sqlite3-wal") == 0o660


def test_a_missing_directory_is_left_for_the_open_to_report(tmp_path: Path) -> None:
    path = private_file(tmp_path / "nowhere" / "gate.db")
    assert not path.parent.exists()
