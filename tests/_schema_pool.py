"""Migrated PostgreSQL schemas reused from test to test, each put back as it was after migrating.

Making a schema for each test (143 statements of DDL replayed, then DROP SCHEMA CASCADE)
cost 0.3 to 2 s a test, most of it the server creating and unlinking the files of every
table and index. A schema taken from the pool instead is migrated already, and giving it
back costs a few small statements:

- the connections a test left open are ended (they carry the schema's name as their
  application name, see `tests/conftest.py`);
- rows are deleted from the tables that have any, with triggers and foreign keys off
  (`session_replication_role = replica`), and the rows the migration itself wrote are put
  back from a copy taken once;
- every sequence is set back to where the migration left it.

A schema whose shape a test changed (tables, indexes, triggers, revision), or that could
not be cleaned, is dropped instead of going back. The pool needs a superuser (to turn
triggers off while cleaning); without one the tests make a schema each, as before.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable

import psycopg
from psycopg import sql

Fingerprint = tuple[object, ...]

_SHAPE = """
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid),
       (SELECT coalesce(sum(hashtext(relname || ':' || relkind::text)), 0)
          FROM pg_class WHERE relnamespace = n.oid),
       (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = n.oid),
       (SELECT count(*) FROM pg_constraint WHERE connamespace = n.oid)
FROM pg_namespace n WHERE n.nspname = %s
"""


class SchemaPool:
    """One test process's migrated schemas in one database: `take` one, `give_back` it clean."""

    def __init__(
        self, database: str, migrate: Callable[[str], None], forget: Callable[[], None] = lambda: None
    ) -> None:
        """`migrate(schema)` migrates an empty schema of that name to the newest revision.

        `forget()` is called each time a schema is handed out again: the process may remember
        things of its rows by its address and their ids, which now count from 1 again.
        """
        self.database = database
        self.migrate = migrate
        self.forget = forget
        self.free: list[str] = []
        self.seed = f"seed_{secrets.token_hex(6)}"
        self.tables: list[str] = []
        self.seeded: list[str] = []
        self.sequences: list[tuple[str, int, bool]] = []
        self.shape: Fingerprint | None = None
        self.revision: str | None = None

    @staticmethod
    def usable(database: str) -> bool:
        """Whether the pool can work here: the tests connect as a superuser."""
        with psycopg.connect(database, autocommit=True) as conn:
            row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        return bool(row and row[0])

    def take(self) -> str:
        """A migrated schema holding only what the migration wrote."""
        if self.free:
            self.forget()
            return self.free.pop()
        schema = f"p_{secrets.token_hex(6)}"
        with psycopg.connect(self.database, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self.migrate(schema)
        if self.shape is None:
            self._learn(schema)
        return schema

    def give_back(self, schema: str) -> None:
        """Put the schema back as the migration left it, or drop it if that cannot be done."""
        try:
            with psycopg.connect(self.database, autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (schema,),
                )
                if self._fingerprint(conn, schema) != (self.shape, self.revision):
                    raise LookupError(f"a test changed the shape of schema {schema}")
                self._clean(conn, schema)
        except (psycopg.Error, LookupError):
            self._drop(schema)
            return
        self.free.append(schema)

    def close(self) -> None:
        """Drop the seed copy (the pooled schemas go with the session's database)."""
        self._drop(self.seed)

    # ---- once, on the first schema ---------------------------------------------------------

    def _learn(self, schema: str) -> None:
        """What a freshly migrated schema holds: its shape, tables, rows and sequences."""
        with psycopg.connect(self.database, autocommit=True) as conn:
            self.shape, self.revision = self._fingerprint(conn, schema)
            self.tables = [
                name
                for (name,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> 'alembic_version'"
                    " ORDER BY tablename",
                    (schema,),
                )
            ]
            self.seeded = self._with_rows(conn, schema)
            with conn.transaction():
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.seed)))
                for table in self.seeded:
                    conn.execute(
                        sql.SQL("CREATE TABLE {} AS TABLE {}").format(
                            sql.Identifier(self.seed, table), sql.Identifier(schema, table)
                        )
                    )
            self.sequences = [
                (name, int(value if value is not None else start), value is not None)
                for name, value, start in conn.execute(
                    "SELECT sequencename, last_value, start_value FROM pg_sequences WHERE schemaname = %s",
                    (schema,),
                )
            ]

    # ---- each time -----------------------------------------------------------------------------

    def _fingerprint(self, conn: psycopg.Connection, schema: str) -> tuple[Fingerprint | None, str | None]:
        shape = conn.execute(_SHAPE, (schema,)).fetchone()
        try:
            row = conn.execute(
                sql.SQL("SELECT version_num FROM {}").format(sql.Identifier(schema, "alembic_version"))
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return (tuple(shape) if shape else None), None
        return (tuple(shape) if shape else None), (row[0] if row else None)

    def _with_rows(self, conn: psycopg.Connection, schema: str) -> list[str]:
        """The tables of the schema that hold any row, in one statement."""
        if not self.tables:
            return []
        probes = [
            sql.SQL("SELECT {} WHERE EXISTS (SELECT 1 FROM {})").format(
                sql.Literal(table), sql.Identifier(schema, table)
            )
            for table in self.tables
        ]
        return [name for (name,) in conn.execute(sql.SQL(" UNION ALL ").join(probes))]

    def _clean(self, conn: psycopg.Connection, schema: str) -> None:
        """Delete every row, put back the migration's own, set the sequences back: one transaction."""
        conn.execute("SET lock_timeout = '5s'")
        with conn.transaction():
            # Replica mode: no trigger moves a change mark, no foreign key orders the deletes.
            conn.execute("SET LOCAL session_replication_role = replica")
            for table in set(self._with_rows(conn, schema)) | set(self.seeded):
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, table)))
            for table in self.seeded:
                conn.execute(
                    sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {}").format(
                        sql.Identifier(schema, table), sql.Identifier(self.seed, table)
                    )
                )
            if self.sequences:
                resets = [
                    sql.SQL("setval({}, {}, {})").format(
                        sql.Literal(f'"{schema}"."{name}"'), sql.Literal(value), sql.Literal(called)
                    )
                    for name, value, called in self.sequences
                ]
                conn.execute(sql.SQL("SELECT ") + sql.SQL(", ").join(resets))

    def _drop(self, schema: str) -> None:
        with contextlib.suppress(psycopg.Error), psycopg.connect(self.database, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '5s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
