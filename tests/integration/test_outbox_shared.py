"""Messages sharing a few texts: stored exactly as `put_many` stores the same messages, on both databases."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import DateTime, Engine, String, cast, func, insert, select, text, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from standby.errors import InvalidInput
from standby.notify import outbox, outbox_desk
from standby.notify.outbox import MessageRecord, NewMessage
from standby.notify.outbox_shared import Addressed, SharedText, put_shared
from standby.store.engine import unit_of_work
from standby.store.migrations import alembic_config, upgrade
from standby.store.tables import MessageRow

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
TEXTS = [
    SharedText("sms", "Sorry: we call you back on Tuesday at 14:00.", "callback"),
    SharedText("email", "We call you back at 15:00.\nSorry.", "callback", subject="Your  callback\n moved"),
    SharedText("sms", "We call you back at 16:00.", "callback"),
]
COUNT = 1200


def addressed(prefix: str, count: int) -> list[Addressed]:
    """SMS and email messages over three texts; recipients as people write them (trimmed, punctuated)."""
    found = []
    for n in range(count):
        text = n % 3
        recipient = f" customer{n}@example.org " if text == 1 else f"+44 7700 {n:06d}"
        found.append(Addressed(f"{prefix}:{n}", text, recipient, f"Customer\t{n}" if n % 4 else None))
    return found


def as_messages(messages: list[Addressed]) -> list[NewMessage]:
    """The same messages spelled out in full, for `put_many`."""
    return [
        NewMessage(
            m.key,
            TEXTS[m.text].channel,
            m.recipient,
            TEXTS[m.text].body,
            TEXTS[m.text].purpose,
            subject=TEXTS[m.text].subject,
            recipient_name=m.recipient_name,
        )
        for m in messages
    ]


def stored(session: Session, prefix: str) -> list[dict[str, Any]]:
    """The stored messages of `prefix`, in the order stored, less their id and prefix."""
    rows = session.scalars(
        select(MessageRow).where(MessageRow.idempotency_key.like(f"{prefix}:%")).order_by(MessageRow.id)
    )
    found = []
    for row in rows:
        record = {c: getattr(row, c) for c in MessageRow.__table__.columns.keys() if c != "id"}  # noqa: SIM118
        record["idempotency_key"] = record["idempotency_key"].split(":", 1)[1]
        found.append(record)
    return found


def test_shared_texts_store_what_put_many_stores(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        outbox.put_many(session, as_messages(addressed("full", COUNT)), now=T0)
        assert put_shared(session, TEXTS, addressed("shared", COUNT), now=T0) == COUNT
    with unit_of_work(session_factory) as session:
        full, shared = stored(session, "full"), stored(session, "shared")
    assert len(shared) == COUNT
    assert shared == full
    assert shared[1]["recipient"] == "customer1@example.org" and shared[1]["subject"] == "Your callback moved"
    assert shared[1]["recipient_name"] == "Customer 1" and shared[0]["recipient_name"] is None
    assert shared[0]["recipient"] == "+447700000000" and shared[0]["state"] == "pending"


def test_keys_already_there_are_left_and_repeats_are_stored_once(
    session_factory: sessionmaker[Session],
) -> None:
    first = addressed("again", 10)
    with unit_of_work(session_factory) as session:
        put_shared(session, TEXTS, first, now=T0)
    later = [Addressed(m.key, 2, "+447700900999") for m in first[:5]] + addressed("again", 20)[10:]
    with unit_of_work(session_factory) as session:
        put_shared(session, TEXTS, later + later[-3:], now=T0 + timedelta(hours=1))
    with unit_of_work(session_factory) as session:
        records: list[MessageRecord] = outbox_desk.list_messages(session, limit=100)
    by_key = {r.key: r for r in records}
    assert len(records) == 20
    assert by_key["again:0"].recipient == "+447700000000" and by_key["again:0"].created_at == T0
    assert by_key["again:19"].created_at == T0 + timedelta(hours=1)
    assert asdict(by_key["again:1"])["subject"] == "Your callback moved"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (Addressed("bad:last", 0, "07700 900123"), "no country code"),
        (Addressed("bad:last", 1, "not an address"), "not an email address"),
        (Addressed("bad key", 0, "+447700900123"), "idempotency key"),
        (Addressed("bad:last", 3, "+447700900123"), "no such text"),
        (Addressed("bad:last", 0, "+447700900123", "n" * 201), "recipient name is too long"),
    ],
)
def test_one_bad_message_stores_none(
    session_factory: sessionmaker[Session], bad: Addressed, says: str
) -> None:
    with unit_of_work(session_factory) as session, pytest.raises(InvalidInput, match=says):
        put_shared(session, TEXTS, [*addressed("bad", 300), bad], now=T0)
    with unit_of_work(session_factory) as session:
        assert sum(outbox_desk.count_by_state(session).values()) == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (SharedText("sms", "x" * 1601, "callback"), "sms body is too long"),
        (SharedText("email", "No subject", "callback"), "needs a subject"),
        (SharedText("sms", "Fine", ""), "purpose"),
    ],
)
def test_a_bad_text_stores_none(session_factory: sessionmaker[Session], text: SharedText, says: str) -> None:
    with unit_of_work(session_factory) as session, pytest.raises(InvalidInput, match=says):
        put_shared(session, [*TEXTS, text], addressed("bad", 30), now=T0)
    with unit_of_work(session_factory) as session:
        assert sum(outbox_desk.count_by_state(session).values()) == 0


def test_a_time_without_a_zone_is_refused(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session, pytest.raises(InvalidInput, match="no time zone"):
        put_shared(session, TEXTS, addressed("naive", 3), now=T0.replace(tzinfo=None))


def test_the_bulk_paths_store_times_as_any_other_write_does(session_factory: sessionmaker[Session]) -> None:
    """SQLite keeps times as text and compares them as text: every writer must spell them alike."""
    at = {"created_at": T0, "next_attempt_at": T0}
    with unit_of_work(session_factory) as session:
        outbox.put_many(session, as_messages(addressed("full", 1)), now=T0)
        put_shared(session, TEXTS, addressed("shared", 1), now=T0)
        session.execute(
            insert(MessageRow).values(
                idempotency_key="core:0", channel="sms", recipient="+447700900123", body="Hello",
                purpose="callback", state="pending", attempts=0, **at,
            )
        )
    with unit_of_work(session_factory) as session:
        spelled = session.execute(
            select(
                MessageRow.idempotency_key,
                cast(type_coerce(MessageRow.created_at, DateTime()), String()),
                cast(type_coerce(MessageRow.next_attempt_at, DateTime()), String()),
            ).order_by(MessageRow.idempotency_key)
        ).all()
    assert [key for key, _, _ in spelled] == ["core:0", "full:0", "shared:0"]
    assert len({(created, due) for _, created, due in spelled}) == 1, spelled
    with unit_of_work(session_factory) as session:
        # Spelled otherwise, a time equal to T0 compared below it on SQLite.
        assert session.scalar(select(func.count()).where(MessageRow.next_attempt_at >= T0)) == 3


def test_times_stored_before_the_fix_are_respelled(bare_engine: Engine) -> None:
    with bare_engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0020")
        connection.execute(
            text(
                "INSERT INTO messages (idempotency_key, channel, recipient, body, purpose, state, attempts,"
                " next_attempt_at, created_at) VALUES ('old:0', 'sms', '+447700900123', 'Hello', 'callback',"
                " 'pending', 0, '2026-06-15 09:30:00', '2026-06-15 09:30:00')"
            )
        )
    upgrade(bare_engine)
    with Session(bare_engine) as session:
        assert session.scalar(select(func.count()).where(MessageRow.next_attempt_at >= T0)) == 1
        assert session.scalar(select(MessageRow.created_at)) == T0
