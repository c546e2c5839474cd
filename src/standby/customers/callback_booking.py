"""Booking many checked callbacks at once, each with its "booked" event, skipping duplicates.

A centre's export can hold 100,000 callbacks, and the import must finish in seconds, so
rows do not go through the ORM one by one: each dialect gets the statement it runs
fastest, and the unique constraints of `callbacks` (external_id; customer, queue and
requested time) decide duplicates through ON CONFLICT DO NOTHING. What an insert
returns is what was booked; a row that does not come back was a duplicate, and is
answered with the callback it duplicates. The caller's unit of work commits the
callbacks and their events together.

- PostgreSQL: the rows are copied (COPY, the fastest way in) to a temporary table, then
  one INSERT .. SELECT books them, and a writable CTE writes the events from what the
  insert returned. A statement with 17 placeholders per row would be slow for the
  driver to even prepare.
- SQLite: multi-row INSERT .. RETURNING of 1,000 rows, with the values bound as the
  column types would bind them (times rendered once per distinct value, not five times
  a row through the type layer), then the events in one INSERT .. SELECT over the ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from standby.customers.callback_history import times_for_driver
from standby.customers.callback_records import CallbackInput
from standby.intake import RowProblem
from standby.store.tables import CallbackRow

COLUMNS = (
    "external_id",
    "customer",
    "phone",
    "customer_key",
    "email",
    "queue",
    "vulnerable",
    "notes",
    "requested_due_at",
    "due_at",
    "state",
    "missed",
    "moves",
    "source",
    "created_by",
    "created_at",
    "updated_at",
)
SQLITE_ROWS = 1000
"""Rows per SQLite statement: 17,000 parameters, within SQLite's limit of 32,766."""
LOOKUP = 1000
"""Keys per look-up of the callbacks duplicated."""
_PG_TYPES = {
    "vulnerable": "boolean",
    "missed": "boolean",
    "moves": "integer",
    "requested_due_at": "timestamptz",
    "due_at": "timestamptz",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}
_PG_INCOMING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS callbacks_incoming ("
    + ", ".join(f"{c} {_PG_TYPES.get(c, 'text')}" for c in COLUMNS)
    + ") ON COMMIT DROP"
)
_PG_BOOK = sql_text(
    f"WITH booked AS (INSERT INTO callbacks ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)}"
    " FROM callbacks_incoming ON CONFLICT DO NOTHING RETURNING id, customer_key, queue, requested_due_at),"
    " events AS (INSERT INTO callback_events (callback_id, at, kind, actor, text, data)"
    " SELECT id, :at, 'booked', :actor, :text, CAST(:data AS jsonb) FROM booked)"
    " SELECT id, customer_key, queue, requested_due_at FROM booked"
)
_SQLITE_ROW = "(" + ", ".join("?" * len(COLUMNS)) + ")"
_SQLITE_EVENTS = (
    "INSERT INTO callback_events (callback_id, at, kind, actor, text, data)"
    " SELECT CAST(value AS INTEGER), ?, 'booked', ?, ?, ? FROM json_each(?)"
)

Booked = list[tuple[CallbackInput, int]]
"""Each row booked with the id it got."""


def book_callbacks(
    session: Session, rows: Sequence[CallbackInput], *, now: datetime, by: str, source: str, text: str
) -> tuple[Booked, list[RowProblem]]:
    """Insert the rows with a "booked" event each (`text`), skipping those a unique constraint refuses.

    Returns the rows booked with their ids, and a problem for each row not booked naming
    the callback it duplicates.
    """
    if not rows:
        return [], []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        booked = _book_postgresql(connection, rows, now=now, by=by, source=source, text=text)
    else:
        booked = _book_sqlite(connection, rows, now=now, by=by, source=source, text=text)
    taken = {id(row) for row, _ in booked}
    return booked, already_booked(session, [r for r in rows if id(r) not in taken])


def _values(row: CallbackInput, due: Any, now: Any, by: str, source: str) -> tuple[Any, ...]:
    """One row's values in COLUMNS order; times as the dialect needs them."""
    return (
        row.external_id, row.customer, row.phone, row.phone, row.email, row.queue, row.vulnerable, row.notes,
        due, due, "scheduled", False, 0, source, by, now, now,
    )  # fmt: skip


def _book_postgresql(
    connection: Connection, rows: Sequence[CallbackInput], *, now: datetime, by: str, source: str, text: str
) -> Booked:
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(_PG_INCOMING)
        cursor.execute("TRUNCATE callbacks_incoming")
        with cursor.copy(f"COPY callbacks_incoming ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(_values(row, row.due_at, now, by, source))
    params = {"at": now, "actor": by, "text": text, "data": json.dumps({"source": source})}
    pending = {(r.phone, r.queue, r.due_at): r for r in rows}
    booked: Booked = []
    for callback_id, key, queue, due_at in connection.execute(_PG_BOOK, params):
        found = pending.get((key, queue, due_at))
        if found is not None:
            booked.append((found, callback_id))
    return booked


def _book_sqlite(
    connection: Connection, rows: Sequence[CallbackInput], *, now: datetime, by: str, source: str, text: str
) -> Booked:
    # The column type's own binding (UTC, then SQLite's text form), so these rows compare with all others.
    to_db = times_for_driver(connection)
    now_db = to_db(now)
    dues = [to_db(r.due_at) for r in rows]
    pending = {(r.phone, r.queue, due): r for r, due in zip(rows, dues, strict=True)}
    booked: Booked = []
    for start in range(0, len(rows), SQLITE_ROWS):
        part = range(start, min(start + SQLITE_ROWS, len(rows)))
        statement = (
            f"INSERT INTO callbacks ({', '.join(COLUMNS)}) VALUES {', '.join([_SQLITE_ROW] * len(part))}"
            " ON CONFLICT DO NOTHING RETURNING id, customer_key, queue, requested_due_at"
        )
        flat = tuple(value for n in part for value in _values(rows[n], dues[n], now_db, by, source))
        for callback_id, key, queue, due in connection.exec_driver_sql(statement, flat):
            found = pending.get((key, queue, due))
            if found is not None:
                booked.append((found, callback_id))
    data = json.dumps({"source": source})
    ids = json.dumps([callback_id for _, callback_id in booked])
    connection.exec_driver_sql(_SQLITE_EVENTS, (now_db, by, text, data, ids))
    return booked


def already_booked(session: Session, rows: list[CallbackInput]) -> list[RowProblem]:
    """Why each row that did not insert was refused: the callback it duplicates."""
    by_booking: dict[tuple[str, str, datetime], int] = {}
    by_external: dict[str, int] = {}
    query = select(
        CallbackRow.id,
        CallbackRow.customer_key,
        CallbackRow.queue,
        CallbackRow.requested_due_at,
        CallbackRow.external_id,
    )
    keys = sorted({r.phone for r in rows})
    external = sorted({r.external_id for r in rows if r.external_id})
    found = [
        *(
            f
            for part in _slices(keys)
            for f in session.execute(query.where(CallbackRow.customer_key.in_(part)))
        ),
        *(
            f
            for part in _slices(external)
            for f in session.execute(query.where(CallbackRow.external_id.in_(part)))
        ),
    ]
    for callback_id, key, queue, due_at, external_id in found:
        by_booking[(key, queue, due_at)] = callback_id
        if external_id:
            by_external[external_id] = callback_id
    problems = []
    for row in rows:
        same_id = by_external.get(row.external_id) if row.external_id else None
        same_booking = by_booking.get((row.phone, row.queue, row.due_at))
        if same_id is not None:
            problems.append(RowProblem(row.row, "external_id", f"already booked as callback #{same_id}"))
        elif same_booking is not None:
            message = f"already booked as callback #{same_booking}: the same customer, queue and due time"
            problems.append(RowProblem(row.row, None, message))
        else:  # booked by an import running alongside, then withdrawn before this look-up
            message = "already booked by another import running at the same time"
            problems.append(RowProblem(row.row, None, message))
    return problems


def _slices(values: list[str]) -> Iterator[list[str]]:
    # One IN list per row of a large file would be slow to send and to plan.
    for start in range(0, len(values), LOOKUP):
        yield values[start : start + LOOKUP]
