"""INSERT ... ON CONFLICT DO UPDATE on PostgreSQL and SQLite alike: one statement, safe under concurrency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.store.tables import Base


def upsert(
    session: Session,
    entity: type[Base],
    values: dict[str, Any],
    *,
    keys: tuple[str, ...],
    changes: Callable[[Any], dict[str, Any]],
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: one statement, so concurrent posts never collide."""
    table = entity.__table__
    index = [table.c[k] for k in keys]
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(entity).values(**values)
        session.execute(pg.on_conflict_do_update(index_elements=index, set_=changes(pg.excluded)))
    else:
        lite = sqlite.insert(entity).values(**values)
        session.execute(lite.on_conflict_do_update(index_elements=index, set_=changes(lite.excluded)))
