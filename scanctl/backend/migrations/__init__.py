"""Alembic migrations of the backend database (run with `scanctl server migrate`)."""
