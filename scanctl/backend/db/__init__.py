"""The backend's database: table definitions, engine set-up and migrations."""

from scanctl.backend.db.engine import Database, create_database
from scanctl.backend.db.migrate import downgrade, upgrade
from scanctl.backend.db.schema import metadata

__all__ = ["Database", "create_database", "downgrade", "metadata", "upgrade"]
