"""Engine set-up: SQLite pragmas for durability, and the one in-process writer lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url

from scanctl.storage import WalKeeper, private_file

if TYPE_CHECKING:
    from scanctl.backend.store.scope import Scope

__all__ = ["TENANT_SETTING", "Database", "create_database"]

_BUSY_TIMEOUT_MS = 5000


TENANT_SETTING = "scanctl.tenant_id"
"""PostgreSQL run-time setting the row-level security policies compare tenant_id with."""


class Database:
    """An engine plus the rules for using it.

    SQLite allows one writer at a time; concurrent writers spin on busy_timeout and
    reach latencies near a second. So every write transaction takes an in-process lock
    (`write()`); reads run concurrently (`read()`), WAL lets them.

    Both take the caller's `Scope`: on PostgreSQL the transaction is bound to its
    tenant (`SET LOCAL scanctl.tenant_id`), and row-level security (migration 0002)
    hides every other tenant's rows even from a query that forgot to filter.
    """

    def __init__(self, engine: Engine, sqlite_file: Path | None = None) -> None:
        self.engine = engine
        self._write_lock = threading.Lock()
        self._sqlite_file = sqlite_file
        self._keeper: WalKeeper | None = None

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self, scope: Scope) -> Iterator[Connection]:
        """A connection in a transaction of the scope's tenant, rolled back at the end."""
        with self.engine.connect() as conn:
            self._bind_tenant(conn, scope)
            yield conn

    @contextmanager
    def write(self, scope: Scope) -> Iterator[Connection]:
        """A transaction of the scope's tenant, committed at the end (rolled back on error)."""
        with self._write_lock, self.engine.begin() as conn:
            self._bind_tenant(conn, scope)
            yield conn

    def _bind_tenant(self, conn: Connection, scope: Scope) -> None:
        if self.engine.dialect.name == "postgresql":
            # is_local=true: the setting ends with the transaction, never leaks via the pool.
            conn.execute(select(func.set_config(TENANT_SETTING, scope.tenant_id, True)))

    def start_upkeep(self) -> None:
        """Checkpoint a SQLite file's log in the background (the service calls this once
        its database is migrated; a one-off command never needs it)."""
        if self._sqlite_file is not None and self._keeper is None:
            self._keeper = WalKeeper(self._sqlite_file)

    @property
    def checkpoints(self) -> int:
        """How many background checkpoints have run (0 without upkeep)."""
        return self._keeper.checkpoints if self._keeper is not None else 0

    def close(self) -> None:
        """Stop checkpointing and close every pooled connection."""
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # Checkpoints run in the WalKeeper thread: inside a commit, one would hold up
        # that scan and every scan queued behind it for 100 ms and more.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    finally:
        cursor.close()


def create_database(url: str) -> Database:
    """A `Database` for the URL; SQLite files get their directory and durable pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # READ COMMITTED stated, not inherited from the server's default: the scan writer
        # locks a ticket row and only then reads its history, and needs that read to see
        # what another instance committed while it waited for the lock. Under REPEATABLE
        # READ (a `default_transaction_isolation` an operator might set) the snapshot
        # would date from before the wait and one ticket could be admitted twice.
        #
        # Ten pooled connections: the scan route's cache misses run in threads (up to
        # 40) and an overflow connection is closed when handed back, so a pool smaller
        # than a burst's concurrency turns into a new PostgreSQL backend per request.
        engine = create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=10,
            isolation_level="READ COMMITTED",
            # No server-side prepared statements: PostgreSQL would switch a statement to
            # a generic plan after five runs, chosen without the values — on tables whose
            # statistics are stale (a fresh database, autovacuum late or off) that plan
            # read every scan of the event for each duplicate check (10 ms instead of 0.5).
            connect_args={"prepare_threshold": None},
        )
        return Database(engine)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    if not parsed.database or parsed.database == ":memory:":
        return Database(engine)
    path = Path(parsed.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    private_file(path)  # scans hold tickets and people's devices: 0600, not the umask's 0644
    return Database(engine, path)
