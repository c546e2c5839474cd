"""A scratch database for a benchmark: a fresh SQLite file, or a fresh PostgreSQL database
created on the given server and dropped afterwards (its connections ended first); and which
databases a benchmark's `--db` and `--postgres` options ask for."""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

DATABASES = ("sqlite", "postgresql")
SHOWN = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """`--db` (which databases) and `--postgres URL` (the server for PostgreSQL's scratch database)."""
    parser.add_argument(
        "--db", help="sqlite, postgresql or both, comma-separated (default: both; with --quick, "
        "PostgreSQL only when --postgres is given)",
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server allowed to CREATE DATABASE (default: "
        "STANDBY_BENCH_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/postgres)",
    )


def chosen_databases(
    parser: argparse.ArgumentParser, args: argparse.Namespace,
) -> tuple[dict[str, str | None], list[str]]:
    """The databases asked for, each with its server (None: SQLite), and those left out, with why."""
    quick = bool(getattr(args, "quick", False))
    if args.db is None:
        names = ["sqlite", "postgresql"] if args.postgres or not quick else ["sqlite"]
    else:
        names = [name.strip() for name in args.db.split(",") if name.strip()]
    unknown = [name for name in names if name not in DATABASES]
    if unknown or not names:
        parser.error(f"--db: {', '.join(unknown) or 'nothing'} is not one of {', '.join(DATABASES)}")
    skipped = [] if "postgresql" in names or args.db else ["PostgreSQL: not asked (give --postgres URL)"]
    server = args.postgres or os.environ.get(
        "STANDBY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    if "postgresql" in names:
        problem = unreachable(server)
        if problem:
            names.remove("postgresql")
            skipped.append(f"PostgreSQL: {problem}")
    return {name: server if name == "postgresql" else None for name in names}, skipped


def unreachable(server: str) -> str | None:
    """Why the PostgreSQL server cannot be reached (first line of the driver's error), or None."""
    import psycopg
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, connect_timeout=5):
            return None
    except (psycopg.Error, ArgumentError) as error:
        return (str(error).strip().splitlines() or [type(error).__name__])[0]


@contextmanager
def scratch_url(postgres: str | None) -> Iterator[str]:
    """The URL of an empty database: SQLite when `postgres` is None, else a new database there."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+pysqlite:///{folder}/bench.db"
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"standby_bench_{secrets.token_hex(4)}"
    admin_url = make_url(postgres).set(drivername="postgresql")
    with psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
