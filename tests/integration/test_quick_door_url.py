"""The door's own PostgreSQL connections take the database URL as the app's engine reads it.

Seen while moving the tests to pooled schemas: a URL whose `options` hold a space (the
usual `-c search_path=...` form, or two settings) reached the door's connections as
`-c+search_path=...`, because the URL was rendered back to text, which libpq does not
decode; the door then read another schema (UndefinedTable) while the app's engine, which
decodes its own URL, worked.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select

from standby.store.change_mark import CHANGE_MARK
from standby.store.engine import make_engine
from standby.web.quick_door import _PostgresReads


@pytest.mark.postgres
def test_the_doors_connections_keep_options_with_spaces(postgres_database: str) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA door_space")
        conn.execute("CREATE TABLE door_space.change_marks (slot integer PRIMARY KEY, changes bigint)")
        conn.execute("INSERT INTO door_space.change_marks VALUES (0, 40), (1, 1)")
    base = postgres_database.replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}?options=-c%20search_path%3Ddoor_space%20-c%20application_name%3Ddoor-test"
    engine = make_engine(url)
    reads = _PostgresReads(engine, 1)

    async def read() -> tuple[int, str]:
        try:
            row = await reads.first(select(CHANGE_MARK.label("mark")), "unused")  # type: ignore[arg-type]
            assert row is not None
            named = await psycopg.AsyncConnection.connect(reads.conninfo)
            async with named:
                cursor = await named.execute("SHOW application_name")
                (name,) = await cursor.fetchone() or ("",)
            return int(row.mark), name
        finally:
            await reads.close()

    try:
        assert asyncio.run(read()) == (41, "door-test")
    finally:
        engine.dispose()
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA door_space CASCADE"))
