"""Many messages that share a few texts: a hundred thousand customers told their new times.

A service beside `outbox`: it puts messages in the same table, with the same checks and
the same idempotency (a key already there is left as it is), and never commits. What
differs is how: each distinct text (channel, subject, body, purpose) is checked once and
sent to the database once, and each message is only its key, the text it uses, its
recipient and the recipient's name. On PostgreSQL that is one INSERT .. SELECT joining
the messages' arrays to the texts' (a hundred thousand copies of a body never leave
Python); on SQLite a driver-level executemany of small tuples. Either way the rows are
exactly what `outbox.put_many` stores for the same messages (tests/integration/
test_outbox_shared.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from standby.errors import InvalidInput
from standby.notify import validate
from standby.notify.channels.protocol import ChannelName
from standby.notify.outbox import NewMessage, aware_time, checked_text
from standby.notify.outbox_insert import raw_insert
from standby.store.tables import MessageRow

_T: Table = MessageRow.__table__  # type: ignore[assignment]
CHUNK = 50_000
"""Messages per statement: bounds the arrays (PostgreSQL) and the tuples held at once."""


@dataclass(frozen=True, slots=True)
class SharedText:
    """A text many messages use."""

    channel: ChannelName
    body: str
    purpose: str
    subject: str | None = None


class Addressed(NamedTuple):
    """One message: its idempotency key, the index of its text, its recipient and their name."""

    key: str
    text: int
    recipient: str
    recipient_name: str | None = None


@dataclass(frozen=True)
class CheckedShared:
    """Texts and messages checked as the outbox checks them, ready to be stored."""

    texts: list[tuple[Any, ...]]
    rows: list[tuple[str, int, str, str | None]]


def put_shared(
    session: Session, texts: Sequence[SharedText], messages: Sequence[Addressed], *, now: datetime
) -> int:
    """Put `messages` in the outbox, each with its text from `texts`; how many were asked for.

    Every text and every message is checked before any is stored, as `outbox.put_many`
    checks them (InvalidInput names the bad one). Keys already in the outbox are left as
    they are; a key twice in `messages` is stored once.
    """
    return put_checked(session, check_shared(texts, messages), now=now)


def check_shared(texts: Sequence[SharedText], messages: Sequence[Addressed]) -> CheckedShared:
    """Every text and message checked as `outbox.put_many` checks them (pure; InvalidInput names one)."""
    checked = [
        checked_text(NewMessage("-", t.channel, "-", t.body, t.purpose, subject=t.subject)) for t in texts
    ]
    rows: list[tuple[str, int, str, str | None]] = []
    check_key, recipient, one_line = validate.check_key, validate.recipient, validate.one_line
    for n, message in enumerate(messages):
        if not 0 <= message.text < len(checked):
            raise InvalidInput(
                f"message {n} ({message.key!r}) names text {message.text}: there is no such text"
            )
        channel = checked[message.text][0]
        rows.append(
            (
                check_key(message.key),
                message.text,
                recipient(channel, message.recipient),
                one_line(message.recipient_name, what="recipient name", limit=validate.MAX_NAME),
            )
        )
    return CheckedShared(checked, rows)


def put_checked(session: Session, checked: CheckedShared, *, now: datetime) -> int:
    """Put messages `check_shared` checked in the outbox; how many were asked for."""
    aware_time(now, "now")
    connection = session.connection()
    rows = checked.rows
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        if connection.dialect.name == "postgresql":
            _pg_put(connection, checked.texts, part, now)
        else:
            _sqlite_put(connection, checked.texts, part, now)
    return len(rows)


_COLUMNS = (
    "idempotency_key",
    "channel",
    "recipient",
    "recipient_name",
    "subject",
    "body",
    "payload",
    "purpose",
    "incident_id",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "parked_at",
    "last_error",
)
# The messages' columns go as one text each, split by the server: psycopg's text arrays
# cost more Python time per element than everything else here. The unit separator cannot
# be in a checked key, recipient or name (each refuses or collapses whitespace, and
# Python counts \x1f as whitespace), and the count of separators is checked anyway.
_SEPARATOR = "\x1f"
_PG_PUT = f"""
INSERT INTO messages ({", ".join(_COLUMNS)})
SELECT m.key, t.channel, m.recipient, m.name, t.subject, t.body, NULL, t.purpose, NULL,
       'pending', 0, %(now)s, %(now)s, NULL, NULL
FROM unnest(
    string_to_array(%(keys)s, chr(31)),
    string_to_array(%(texts)s, chr(31))::integer[],
    string_to_array(%(recipients)s, chr(31)),
    string_to_array(%(names)s, chr(31), '')
  ) WITH ORDINALITY AS m(key, text, recipient, name, n)
JOIN unnest(%(channels)s::text[], %(subjects)s::text[], %(bodies)s::text[], %(purposes)s::text[])
  WITH ORDINALITY AS t(channel, subject, body, purpose, n) ON t.n = m.text + 1
ORDER BY m.n
ON CONFLICT (idempotency_key) DO NOTHING
"""


def _pg_put(
    connection: Connection,
    texts: Sequence[tuple[Any, ...]],
    rows: Sequence[tuple[str, int, str, str | None]],
    now: datetime,
) -> None:
    keys, numbers, recipients, names = zip(*rows, strict=True)
    columns = {
        "keys": _SEPARATOR.join(keys),
        "texts": _SEPARATOR.join(map(str, numbers)),
        "recipients": _SEPARATOR.join(recipients),
        "names": _SEPARATOR.join(name or "" for name in names),
    }
    for name, joined in columns.items():
        if joined.count(_SEPARATOR) != len(rows) - 1:
            raise InvalidInput(f"a message's {name[:-1]} holds the character U+001F, which is not text")
    connection.exec_driver_sql(
        _PG_PUT,
        {
            **columns,
            "channels": [t[0] for t in texts],
            "subjects": [t[1] for t in texts],
            "bodies": [t[2] for t in texts],
            "purposes": [t[4] for t in texts],
            "now": now,
        },
    )


def _sqlite_put(
    connection: Connection,
    texts: Sequence[tuple[Any, ...]],
    rows: Sequence[tuple[str, int, str, str | None]],
    now: datetime,
) -> None:
    sql, processors = raw_insert(connection.dialect, _COLUMNS)
    when = processors[_COLUMNS.index("created_at")]
    at = when(now) if when is not None else now
    connection.exec_driver_sql(
        sql,
        [
            (key, t[0], to, name, t[1], t[2], None, t[4], None, "pending", 0, at, at, None, None)
            for key, number, to, name in rows
            for t in (texts[number],)
        ],
    )
