"""The tests' pool of migrated PostgreSQL schemas gives each test what a fresh migration would."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql

from _schema_pool import SchemaPool
from standby.customers.compensation_service import PROCESS_MEMO
from standby.customers.summary_service import TIMELINE_MEMO


def _rows(database: str, schema: str, table: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database, autocommit=True) as conn:
        query = sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(schema, table))
        return conn.execute(query).fetchall()


@pytest.fixture
def pool(postgres_pool: SchemaPool | None) -> SchemaPool:
    """The tests' pool of schemas; the test is skipped where there is none."""
    if postgres_pool is None:
        pytest.skip("the pool needs a superuser")
    return postgres_pool


@pytest.mark.postgres
def test_a_schema_comes_back_as_the_migration_left_it(postgres_database: str, pool: SchemaPool) -> None:
    schema = pool.take()
    marks = _rows(postgres_database, schema, "change_marks")
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
        conn.execute("UPDATE change_marks SET changes = changes + 7")
        conn.execute(
            "INSERT INTO users (username, password_hash, role, created_at, disabled)"
            " VALUES ('amara', 'x', 'admin', now(), false)"
        )
    # A connection the test left open, in a transaction holding a lock.
    options = f"-c search_path={schema} -c application_name={schema}"
    leaked = psycopg.connect(postgres_database, options=options)
    leaked.execute("SELECT * FROM users FOR UPDATE").fetchall()
    pool.give_back(schema)
    with pytest.raises(psycopg.OperationalError):  # ended by the pool, its lock with it
        leaked.execute("SELECT 1")
    leaked.close()
    again = pool.take()
    assert again == schema
    assert _rows(postgres_database, schema, "users") == []
    assert _rows(postgres_database, schema, "change_marks") == marks
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
        first = conn.execute(
            "INSERT INTO users (username, password_hash, role, created_at, disabled)"
            " VALUES ('lin', 'x', 'admin', now(), false) RETURNING id"
        ).fetchone()
    assert first == (1,), "the sequence starts again where the migration left it"
    pool.give_back(again)


@pytest.mark.postgres
def test_a_schema_whose_shape_a_test_changed_is_dropped(postgres_database: str, pool: SchemaPool) -> None:
    schema = pool.take()
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE INDEX extra ON {} (role)").format(sql.Identifier(schema, "users")))
    pool.give_back(schema)
    assert schema not in pool.free
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        gone = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    assert gone == (0,)


@pytest.mark.postgres
def test_a_schema_taken_again_comes_with_nothing_the_process_remembered_of_its_rows(
    postgres_database: str, pool: SchemaPool
) -> None:
    # The customers' memos are keyed by the database's address and an incident's or outage's
    # id. A schema taken again has the same address, and its ids count from 1 again: what an
    # earlier test's figures left in them skipped a later test's timeline entry (seen once in
    # a full run, `test_customer_scenario` on PostgreSQL).
    schema = pool.take()
    key = (f"postgresql://{schema}", 1)
    TIMELINE_MEMO.remember(key, datetime(2026, 6, 15, 13, 0, tzinfo=UTC))
    PROCESS_MEMO.remember(key, ("an earlier test's outage",))
    pool.give_back(schema)
    assert pool.take() == schema
    try:
        assert TIMELINE_MEMO.last(key) is None
        assert PROCESS_MEMO.last(key) is None
    finally:
        pool.give_back(schema)
