"""Storage helpers shared by the backend and the gate daemon (both keep SQLite files)."""

from scanctl.storage.private import PRIVATE_MODE, private_file
from scanctl.storage.wal_keeper import CHECKPOINT_INTERVAL_S, WalKeeper

__all__ = ["CHECKPOINT_INTERVAL_S", "PRIVATE_MODE", "WalKeeper", "private_file"]
