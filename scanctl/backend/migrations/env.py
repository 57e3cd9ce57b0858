"""Alembic environment: runs migrations on the engine passed in by `db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from scanctl.backend.db.schema import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations with `scanctl server migrate`, not the alembic command")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
