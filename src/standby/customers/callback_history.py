"""Callbacks' history written in bulk: one statement for thousands of events, built by the database.

The pieces `outage_callbacks` and `missed_callbacks` share to flag, release and
reschedule a hundred thousand callbacks in a few statements: an event for each callback
a query selects (`events_from`), many given events at once (`add_events`), JSON objects
and ISO times made by the database from columns (`json_object`, `iso_text`), and ids in
chunks for `IN (...)` lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from standby.store.tables import CallbackEventRow, CallbackRow
from standby.store.tables.base import UTCDateTime, driver_binding

ACTOR = "standby"
"""Who the history says did it."""
CHUNK = 1000
PG_ISO_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
"""PostgreSQL's to_char format for a UTC time as Python's isoformat writes it."""

_C: Table = CallbackRow.__table__  # type: ignore[assignment]
_E: Table = CallbackEventRow.__table__  # type: ignore[assignment]


def events_from(
    session: Session,
    now: datetime,
    kind: str,
    text: ColumnElement[Any],
    data: ColumnElement[Any],
    where: Any,
    *,
    outage_id: int,
) -> None:
    """One history entry (about `outage_id`) for each callback `where` selects, in one statement."""
    rows = select(
        _C.c.id,
        literal(now, UTCDateTime()),
        literal(kind, String()),
        literal(ACTOR, String()),
        text,
        data,
        number(outage_id),
    ).where(where)
    columns = ["callback_id", "at", "kind", "actor", "text", "data", "outage_id"]
    session.connection().execute(insert(_E).from_select(columns, rows))


def json_object(session: Session, **pairs: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON object built by the database from columns and constants."""
    build = func.jsonb_build_object if _dialect(session) == "postgresql" else func.json_object
    args: list[ColumnElement[Any]] = []
    for key, value in pairs.items():
        args += [literal_column(f"'{key}'"), value]  # keys are names written here, never input
    return build(*args)


def iso_text(session: Session, column: ColumnElement[datetime]) -> ColumnElement[str]:
    """A UTC time as Python's isoformat writes it (whole seconds), by the database."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), literal_column(f"'{PG_ISO_FORMAT}'"))
    return func.strftime(literal_column("'%Y-%m-%dT%H:%M:%S+00:00'"), column)


def times_for_driver(connection: Connection) -> Callable[[datetime], Any]:
    """A time as the driver takes it for a UTCDateTime column (UTC; SQLite's text form)."""
    process = driver_binding(_C.c.due_at, connection.dialect)
    assert process is not None
    return process


def number(value: int) -> ColumnElement[Any]:
    """A whole number as a literal in the statement (an id written here, never input)."""
    return literal_column(str(int(value)), Integer())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def add_events(
    session: Session,
    now: datetime,
    kind: str,
    events: Iterable[tuple[int, str, dict[str, Any]]],
    *,
    outage_id: int,
) -> None:
    """History entries (about `outage_id`) given one by one: (callback id, text, data) each."""
    rows = [
        {
            "callback_id": i,
            "at": now,
            "kind": kind,
            "actor": ACTOR,
            "text": text,
            "data": data,
            "outage_id": outage_id,
        }
        for i, text, data in events
    ]
    # On the connection: the ORM's bulk insert would run one INSERT per row here.
    connection = session.connection()
    for start in range(0, len(rows), 5 * CHUNK):
        connection.execute(insert(_E), rows[start : start + 5 * CHUNK])


def chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """The ids in lists of at most CHUNK, for `IN (...)`."""
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
