"""A scratch database for a benchmark: a fresh SQLite file, or a fresh PostgreSQL database
created on the given server and dropped afterwards (its connections ended first)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


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
