"""Engines, sessions and the unit of work.

Two databases are supported: SQLite (one machine, the default) and PostgreSQL through
psycopg 3 (several servers and workers). Engines are built when an edge asks for one,
never at import time. Services receive a Session and never commit; `unit_of_work`
commits when the block succeeds and rolls back when it raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from standby.errors import ConfigError, StorageError

# Waiting this long for another writer beats failing a request with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CACHE_KIB = 32 * 1024
"""Page cache per SQLite connection, at most (SQLite allocates it as pages are read)."""

_SQLITE_DRIVERS = {"sqlite": "sqlite+pysqlite", "sqlite+pysqlite": "sqlite+pysqlite"}
_POSTGRES_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def normalise_database_url(url: str) -> str:
    """The URL with the driver Standby uses (pysqlite, psycopg 3); ConfigError when unusable."""
    return _parse(url).render_as_string(hide_password=False)


def mask_password(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "not a database URL: expected sqlite:///PATH or postgresql://USER@HOST/DATABASE"
        ) from None
    scheme = parsed.drivername.lower()
    driver = _SQLITE_DRIVERS.get(scheme) or _POSTGRES_DRIVERS.get(scheme)
    if driver is None:
        raise ConfigError(
            f"unsupported database {parsed.drivername!r}: use sqlite:///PATH or"
            " postgresql://USER@HOST/DATABASE (psycopg 3)"
        )
    if driver.startswith("postgresql") and not parsed.database:
        raise ConfigError("the PostgreSQL URL names no database: add /DATABASE to it")
    return parsed.set(drivername=driver)


def sqlite_path(url: URL) -> Path | None:
    """The file an SQLite URL points to, or None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def make_engine(url: str) -> Engine:
    """An engine for the URL: SQLite tuned for a server (WAL, foreign keys), or PostgreSQL.

    For SQLite the folder of the database file is created if missing.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    # pre_ping: a failover or a restarted server leaves dead connections in the pool.
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        try:
            # Owner only: the database holds password hashes and customers' details.
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder {path.parent} for the database: {exc.strerror}"
            ) from None
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Per connection, outside any transaction: SQLite ignores these pragmas inside one.
        # The driver's own transaction handling stays: it begins a transaction at the first
        # write, so a read never holds a lock that a writer would have to wait for.
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if path is not None:
                # WAL: readers (the status page) do not wait for writers (the worker).
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
                # A pass that reschedules 100,000 callbacks and puts their messages in the
                # outbox dirties more pages than SQLite's default 2 MB cache holds, and
                # spilled them mid-transaction: 32 MB (allocated only as pages are read)
                # and statement journals in memory took a fifth off that pass's time.
                cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
                cursor.execute("PRAGMA temp_store = MEMORY")
        finally:
            cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to the engine; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed when the block ends, or rolled back if it raises.

    A database that cannot be reached (or stays locked) surfaces as StorageError, so
    the edges can answer "try again" instead of showing a traceback.
    """
    with factory() as session:
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise storage_error(exc) from exc
        except BaseException:
            session.rollback()
            raise


def storage_error(exc: Exception) -> StorageError:
    """The StorageError that says what the database's failure was, in one line."""
    return StorageError(f"the database failed: {_first_line(exc)}")


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper: the driver's own error says it best
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
