"""Shared fixtures: a database per test on SQLite and on PostgreSQL.

PostgreSQL: one fresh database per test session (`standby_test_<hex>`), and in it one
fresh schema per test, so tests never see each other's rows and migration tests start
from nothing. The server defaults to postgresql://postgres@127.0.0.1:5432/postgres;
set STANDBY_TEST_POSTGRES_URL to use another. Without a server the PostgreSQL cases
are skipped, unless CI=true or STANDBY_REQUIRE_POSTGRES=1, when they fail.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from standby.store.engine import make_engine, make_session_factory, sqlite_path
from standby.store.migrations import upgrade

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _libpq_url(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _postgres_required() -> bool:
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("STANDBY_REQUIRE_POSTGRES") == "1"
    )


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database created for this test session and dropped after it."""
    server = os.environ.get("STANDBY_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    shown = make_url(server).render_as_string(hide_password=True)
    try:
        admin = psycopg.connect(_libpq_url(server), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        message = f"PostgreSQL not reachable at {shown}; set STANDBY_TEST_POSTGRES_URL ({exc})"
        if _postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    name = f"standby_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield _libpq_url(server, name)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def postgres_schema_url(postgres_database: str) -> Iterator[str]:
    """A URL whose connections work in a schema of their own, made for one test."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(postgres_database).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            # A test that leaked an open transaction must not hang the run: the schema
            # then stays until the session's database is dropped.
            conn.execute("SET lock_timeout = '5s'")
            with contextlib.suppress(psycopg.errors.LockNotAvailable):
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite (a temporary file) and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'data' / 'standby.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the empty database, not migrated."""
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest revision once per test process."""
    path = tmp_path_factory.mktemp("template") / "standby.db"
    engine = make_engine(f"sqlite+pysqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def engine(bare_engine: Engine, request: pytest.FixtureRequest) -> Engine:
    """An engine on a database migrated to the newest revision."""
    target = sqlite_path(bare_engine.url) if bare_engine.dialect.name == "sqlite" else None
    if target is not None and not target.exists():
        # A copy of the migrated file: running the migrations (even finding there is
        # nothing to do) for each test cost more than most tests themselves.
        # tests/integration/test_store.py still migrates from nothing on both databases.
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return bare_engine
    upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the migrated database."""
    return make_session_factory(engine)
