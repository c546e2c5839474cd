"""Shared fixtures: a database per test on SQLite and on PostgreSQL.

PostgreSQL: one fresh database per test session (`standby_test_<hex>`), and in it a
schema per test, so tests never see each other's rows: a migrated one from the process's
pool, put back as the migration left it (`tests/_schema_pool.py`), for tests of a migrated
database; a new, empty one for the others, so that migration tests start from nothing.
Its commits do not wait for the disk (synchronous_commit off), and it is dropped without
waiting for the checkpoint that makes. The server defaults to
postgresql://postgres@127.0.0.1:5432/postgres; set STANDBY_TEST_POSTGRES_URL to use another.
Without a server the PostgreSQL cases are skipped, unless CI=true or
STANDBY_REQUIRE_POSTGRES=1, when they fail.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from _passwords import hash_at_test_strength
from _schema_pool import SchemaPool
from standby.customers.compensation_service import PROCESS_MEMO
from standby.customers.summary_service import TIMELINE_MEMO
from standby.store.engine import make_engine, make_session_factory, sqlite_path
from standby.store.migrations import upgrade

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Passwords are hashed and verified at the cheapest parameters in the tests (_passwords.py).
hash_at_test_strength()


def _libpq_url(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("STANDBY_REQUIRE_POSTGRES") == "1"


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
        # A commit then returns without waiting for its WAL to reach the disk: what other
        # connections see is unchanged (no test crashes the server to check durability), and
        # a commit costs a fraction of a millisecond instead of a disk flush (2-13 ms on a busy
        # disk), which the tests' thousands of commits and per-test schemas add up to.
        admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
        try:
            yield _libpq_url(server, name)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            _drop_without_waiting(_libpq_url(server), name)


def _drop_without_waiting(server: str, name: str) -> None:
    """Send DROP DATABASE and hang up: the server carries it out, the run does not wait for it.

    Dropping a database makes the server checkpoint, syncing every file the run's thousands
    of per-test tables wrote: seconds (7 s on a busy disk) at the very end of each worker.
    The server reads the whole statement before it could notice the hang-up, and nothing
    else uses the database: WITH (FORCE) ends any session a test leaked.
    """
    connection = psycopg.pq.PGconn.connect(psycopg.conninfo.make_conninfo(server).encode())
    try:
        if connection.status != psycopg.pq.ConnStatus.OK:
            raise psycopg.OperationalError(connection.get_error_message())
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        connection.send_query(statement.as_string(None).encode())
        while connection.flush():  # 1 while some of it is still in the client's buffer
            pass
    finally:
        connection.finish()


@pytest.fixture
def postgres_schema_url(postgres_database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL whose connections work in a schema of their own for one test.

    A test that uses `engine` (a migrated database) gets a migrated schema from the worker's
    pool (`SchemaPool`), put back as it was after migrating; any other test gets an empty
    schema made for it and dropped after it.
    """
    if "engine" in request.fixturenames:
        pool: SchemaPool | None = request.getfixturevalue("postgres_pool")
        if pool is not None:
            schema = pool.take()
            try:
                yield _schema_url(postgres_database, schema)
            finally:
                pool.give_back(schema)
            return
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield _schema_url(postgres_database, schema)
    finally:
        _drop_schema(postgres_database, schema)


def _drop_schema(database: str, schema: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
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


Statement = tuple[str, Any, bool]


def _schema_url(database: str, schema: str) -> str:
    # The schema's name is also the connections' application name: the pool finds and ends
    # any connection a test left open before it hands the schema to the next test.
    options = f"-csearch_path={schema} -capplication_name={schema}"
    url = make_url(database).update_query_dict({"options": options})
    return url.render_as_string(hide_password=False)


def _shape(engine: Engine) -> dict[str, Any]:
    """Tables with their columns, indexes, keys, and the revision: what a migration made."""
    seen = inspect(engine)
    shape: dict[str, Any] = {}
    for table in seen.get_table_names():
        shape[table] = (
            [(c["name"], str(c["type"]), c["nullable"]) for c in seen.get_columns(table)],
            sorted((i["name"] or "", tuple(i["column_names"]), i["unique"]) for i in seen.get_indexes(table)),
            sorted(str(u["column_names"]) for u in seen.get_unique_constraints(table)),
            seen.get_pk_constraint(table)["constrained_columns"],
        )
    with engine.connect() as connection:
        shape["revision"] = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return shape


def _replay(engine: Engine, statements: list[Statement]) -> None:
    with engine.begin() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters, many in statements:
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)


@pytest.fixture(scope="session")
def postgres_migration(postgres_database: str) -> Iterator[list[Statement]]:
    """What migrating an empty schema sends to PostgreSQL, recorded once per test process.

    Each test's schema replays it: the same statements in one transaction, without the
    migration machinery, which cost about 0.3 s a test. The replay is checked once to make
    the same tables, columns, indexes, keys and revision as the migration itself.
    tests/integration/test_store.py still migrates from nothing for real.
    """
    schemas = [f"m_{secrets.token_hex(6)}", f"r_{secrets.token_hex(6)}"]
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    migrated, replayed = (make_engine(_schema_url(postgres_database, schema)) for schema in schemas)
    recorded: list[Statement] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        recorded.append((statement, parameters, many))

    try:
        event.listen(migrated, "before_cursor_execute", record)
        upgrade(migrated)
        event.remove(migrated, "before_cursor_execute", record)
        _replay(replayed, recorded)
        assert _shape(replayed) == _shape(migrated), "replaying the migration made another schema"
        yield recorded
    finally:
        migrated.dispose()
        replayed.dispose()
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _forget_the_customers_memos() -> None:
    """Empty the process's memos of outages and incidents, keyed by address and id."""
    TIMELINE_MEMO.clear()
    PROCESS_MEMO.clear()


@pytest.fixture(scope="session")
def postgres_pool(postgres_database: str, request: pytest.FixtureRequest) -> Iterator[SchemaPool | None]:
    """This test process's pool of migrated schemas (`tests/_schema_pool.py`); None without a superuser."""
    if not SchemaPool.usable(postgres_database):
        yield None
        return
    statements: list[Statement] = request.getfixturevalue("postgres_migration")

    def migrate(schema: str) -> None:
        engine = make_engine(_schema_url(postgres_database, schema))
        try:
            _replay(engine, statements)
        finally:
            engine.dispose()

    pool = SchemaPool(postgres_database, migrate, forget=_forget_the_customers_memos)
    try:
        yield pool
    finally:
        pool.close()


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
    if bare_engine.dialect.name == "postgresql":
        if request.getfixturevalue("postgres_pool") is None:  # else the pool's schema is migrated
            _replay(bare_engine, request.getfixturevalue("postgres_migration"))
        return bare_engine
    upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the migrated database."""
    return make_session_factory(engine)


# Tests that run for tens of seconds (measured with --durations), longest first: they start
# first, each on a worker of its own, so that no worker is left running the last of them
# alone at the end. That needs xdist to hand out tests one at a time (`--maxschedchunk=1`,
# set in `pytest_configure` below): by default it gives each worker its first block of consecutive tests at
# once, and the first worker got every long test (294 s of tests against 247 s for another).
# Only the order changes; a name no longer here or no longer long costs nothing.
LONG_FIRST = (
    "tests/e2e/test_api_contract.py::test_every_operation_answers_only_what_the_document_declares",
    "tests/e2e/test_worker_takeover.py::",
    "tests/e2e/test_readiness_browser.py::test_through_a_slow_line",
    "tests/integration/test_worker_stall.py::",
    "tests/e2e/test_serve_plan_precedence.py::",
    "tests/e2e/test_incident_room_browser.py::",
    "tests/e2e/test_benchmark_runner_real.py::",
    "tests/e2e/test_workers.py::test_two_workers_share_probes_open_one_outage_and_take_over",
    "tests/unit/test_simulation_compiled_free_times.py::test_random_days",
    "tests/e2e/test_outage_scenario.py::",
    "tests/integration/test_worker_times.py::test_an_alert_has_its_upstream_probes_checked",
    "tests/e2e/test_web.py::test_standby_serve_runs_for_real",
    "tests/e2e/test_alertmanager_peer.py::test_an_alert_fired_while_standby_is_down",
    "tests/unit/test_rescheduling.py::test_no_callback_is_lost_none_is_booked_beyond_capacity",
    "tests/e2e/test_pages_browser.py::",
    "tests/e2e/test_review_browser.py::",
    "tests/e2e/test_forecaster_process.py::",
    "tests/unit/test_forecast.py::test_adding_agents_never_forecasts_more_unanswered_calls",
    "tests/integration/test_compensation_service.py::test_many_customers_in_one_pass",
    "tests/e2e/test_metrics.py::test_a_worker_alone_serves_its_checks",
    "tests/e2e/test_cli_audit.py::test_a_20000_long_chain",
)


def _long_rank(item: pytest.Item) -> int:
    """The place of the test's entry in LONG_FIRST; past the end for every other test."""
    for rank, prefix in enumerate(LONG_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(LONG_FIRST)


def pytest_configure(config: pytest.Config) -> None:
    """Have xdist hand each worker one test at a time unless told otherwise (see LONG_FIRST).

    Set here rather than in pyproject's addopts, which `-p no:xdist` would then refuse.
    """
    if hasattr(config.option, "maxschedchunk") and config.option.maxschedchunk is None:
        config.option.maxschedchunk = 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the long tests first, longest first, each one's cases apart (every other test keeps its place).

    First each long test's first case, then each one's second (SQLite, then PostgreSQL), so
    that two cases of one long test do not start side by side on one worker's queue.
    """
    cases: dict[int, int] = {}
    places: dict[str, tuple[int, int]] = {}
    for item in items:
        rank = _long_rank(item)
        if rank == len(LONG_FIRST):
            places[item.nodeid] = (1, 0)
            continue
        case = cases.get(rank, 0)
        cases[rank] = case + 1
        places[item.nodeid] = (0, case * len(LONG_FIRST) + rank)
    items.sort(key=lambda item: places[item.nodeid])
