"""Putting many rows into the outbox at once, each idempotency key once (the ones already there
are left as they are), in the order given and in few statements: the bulk path behind
`outbox.put_many` and the shared-text insert (`outbox_shared`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Table
from sqlalchemy.orm import Session

from standby.store.tables import MessageRow
from standby.store.tables.base import driver_binding

_T: Table = MessageRow.__table__  # type: ignore[assignment]


def insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """INSERT .. ON CONFLICT DO NOTHING of many rows, in the order given, in few statements.

    PostgreSQL: a few rows as one `INSERT .. SELECT FROM unnest(arrays)`, many (from
    `PG_COPY_ROWS`) by COPY into a temporary table and one INSERT .. SELECT: the driver's
    executemany spent more time per row in Python than the server did. SQLite: a
    driver-level executemany, the columns' own bind processors converting the values (UTC
    times, JSON; each distinct value once), so rows read back exactly as through the ORM.
    """
    if not rows:
        return
    connection = session.connection()
    columns = tuple(rows[0])
    if connection.dialect.name == "postgresql":
        json_at = [n for n, c in enumerate(columns) if isinstance(_T.c[c].type, JSON)]
        values = [tuple(row.values()) for row in rows]
        if json_at:
            values = [_json_as_text(v, json_at) for v in values]
        if len(rows) < PG_COPY_ROWS:
            arrays = tuple(list(column) for column in zip(*values, strict=True))
            connection.exec_driver_sql(_pg_insert(connection.dialect, columns), arrays)
        else:
            _pg_copy(connection, columns, values)
        return
    sql, processors = raw_insert(connection.dialect, columns)
    by_column = [
        [row[c] for row in rows] if process is None else _converted([row[c] for row in rows], process)
        for c, process in zip(columns, processors, strict=True)
    ]
    for start in range(0, len(rows), 1000):
        part = [v[start : start + 1000] for v in by_column]
        connection.exec_driver_sql(sql, list(zip(*part, strict=True)))


PG_COPY_ROWS = 200
"""From this many messages PostgreSQL gets them by COPY through a temporary table."""
Processors = tuple[Callable[[Any], Any] | None, ...]
_RAW_INSERTS: dict[tuple[str, tuple[str, ...]], tuple[str, Processors]] = {}
_PG_INSERTS: dict[tuple[str, ...], str] = {}


def _pg_insert(dialect: Dialect, columns: tuple[str, ...]) -> str:
    """INSERT .. SELECT FROM unnest: one array per column (JSON sent as text), kept in order."""
    found = _PG_INSERTS.get(columns)
    if found is None:
        quote = dialect.identifier_preparer.quote
        names = [f"c{n}" for n in range(len(columns))]
        arrays, selected = [], []
        for name, column in zip(names, columns, strict=True):
            kind = _T.c[column].type
            is_json = isinstance(kind, JSON)
            arrays.append(f"%s::{'text' if is_json else kind.compile(dialect)}[]")
            selected.append(f"u.{name}::{kind.compile(dialect)}" if is_json else f"u.{name}")
        found = _PG_INSERTS[columns] = (
            f"INSERT INTO {quote(_T.name)} ({', '.join(quote(c) for c in columns)})"
            f" SELECT {', '.join(selected)}"
            f" FROM unnest({', '.join(arrays)}) WITH ORDINALITY AS u({', '.join(names)}, n)"
            " ORDER BY u.n ON CONFLICT (idempotency_key) DO NOTHING"
        )
    return found


def _pg_copy(connection: Connection, columns: tuple[str, ...], values: list[tuple[Any, ...]]) -> None:
    """COPY (the fastest way in) to a temporary table, then one INSERT .. SELECT in that order."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS messages_incoming (n bigserial, "
            + ", ".join(f"{quote(c)} {_T.c[c].type.compile(dialect)}" for c in columns)
            + ") ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE messages_incoming")
        with cursor.copy(f"COPY messages_incoming ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {quote(_T.name)} ({names}) SELECT {names} FROM messages_incoming ORDER BY n"
            " ON CONFLICT (idempotency_key) DO NOTHING"
        )


def _converted(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """Each value through the column's bind processor, each distinct one once (`now` is in every row)."""
    done: dict[Any, Any] = {}
    found = []
    for value in values:
        try:
            converted = done[value]
        except KeyError:
            converted = done[value] = process(value)
        except TypeError:  # unhashable (a payload): converted every time
            converted = process(value)
        found.append(converted)
    return found


def _json_as_text(row: tuple[Any, ...], at: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for n in at:
        values[n] = None if values[n] is None else json.dumps(values[n])
    return tuple(values)


def raw_insert(dialect: Dialect, columns: tuple[str, ...]) -> tuple[str, Processors]:
    """The driver's INSERT of `columns` into the outbox, and each column's bind processor."""
    found = _RAW_INSERTS.get((dialect.name, columns))
    if found is None:
        quote = dialect.identifier_preparer.quote
        sql = (
            f"INSERT INTO {quote(_T.name)} ({', '.join(quote(c) for c in columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})"
            " ON CONFLICT (idempotency_key) DO NOTHING"
        )
        # As the ORM binds them: SQLite compares times as text, so every writer must spell them alike.
        processors = tuple(driver_binding(_T.c[c], dialect) for c in columns)
        found = _RAW_INSERTS[(dialect.name, columns)] = (sql, processors)
    return found
