"""Alembic's environment: runs migrations on the connection that `upgrade()` passes in."""

from __future__ import annotations

from alembic import context

from standby.errors import StorageError
from standby.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise StorageError(
        "Standby's migrations run on a live connection: use `standby db upgrade`"
        " or standby.store.migrations.upgrade(engine)"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; batch mode writes migrations that way.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
