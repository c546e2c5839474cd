"""Many messages at once: the bulk path stores exactly what one-by-one storing does, on both databases."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from standby.errors import InvalidInput
from standby.notify import outbox, outbox_desk, outbox_insert
from standby.notify.outbox import MessageRecord, NewMessage
from standby.store.engine import unit_of_work

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
MANY = 3 * outbox_insert.PG_COPY_ROWS


def varied(prefix: str, count: int) -> list[NewMessage]:
    """Every kind of message the outbox takes: SMS, email, webhooks with payloads, delayed, parked."""
    found = []
    for n in range(count):
        key = f"{prefix}:{n}"
        match n % 5:
            case 0:
                message = NewMessage(key, "sms", f"+44 7700 {n:06d}", "Your callback moved", "callback")
            case 1:
                message = NewMessage(
                    key,
                    "email",
                    f" customer{n}@example.org ",
                    "Sorry: we call you at 14:00.",
                    "callback",
                    subject="Your  callback\n moved",
                    recipient_name=f"Customer\t{n}",
                    payload={"n": n, "note": "kept, not sent"},
                )
            case 2:
                message = NewMessage(
                    key,
                    "webhook",
                    "https://hooks.example.org/standby",
                    "ACD down",
                    "update",
                    payload={"style": "slack", "data": {"n": n}},
                    incident_id=7,
                )
            case 3:
                message = NewMessage(
                    key, "sms", f"0044770{n:07d}", "Later", "page", not_before=T0 + timedelta(minutes=n)
                )
            case _:
                message = NewMessage(
                    key, "sms", f"+4477009{n:05d}", "Unsendable", "page", parked_reason="no gateway"
                )
        found.append(message)
    return found


def stored(record: MessageRecord) -> dict[str, Any]:
    """A record less what differs between two copies of the same message (its id and key)."""
    return {k: v for k, v in asdict(record).items() if k not in ("id", "key")}


def test_many_at_once_store_what_one_by_one_stores_in_order(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        one_by_one = [outbox.enqueue_many(session, [m], now=T0)[0] for m in varied("single", MANY)]
    with unit_of_work(session_factory) as session:
        # Two batches in one transaction, the second repeating half of the first and itself.
        first = outbox.enqueue_many(session, varied("bulk", MANY), now=T0)
        repeated = varied("bulk", MANY)[MANY // 2 :] + varied("more", MANY)
        second = outbox.enqueue_many(session, repeated + repeated[:10], now=T0 + timedelta(hours=1))
    assert [stored(r) for r in first] == [stored(r) for r in one_by_one]
    assert [r.id for r in first] == sorted(r.id for r in first)  # stored in the order given
    assert second[: MANY - MANY // 2] == first[MANY // 2 :]  # the same key gives back what is there
    assert second[-10:] == second[:10]  # a key twice in one batch: stored once
    assert all(r.created_at == T0 + timedelta(hours=1) for r in second[MANY - MANY // 2 : -10])
    assert first[1].recipient == "customer1@example.org" and first[1].subject == "Your callback moved"
    assert first[1].recipient_name == "Customer 1" and first[1].payload == {"n": 1, "note": "kept, not sent"}
    assert first[2].payload == {"style": "slack", "data": {"n": 2}} and first[2].incident_id == 7
    assert first[0].payload is None and first[0].recipient == "+447700000000"
    assert first[3].next_attempt_at == T0 + timedelta(minutes=3) and first[3].recipient == "+447700000003"
    assert first[4].state == "parked" and first[4].last_error == "no gateway" and first[4].parked_at == T0
    with unit_of_work(session_factory) as session:
        assert outbox_desk.count_by_state(session) == {
            "pending": 3 * (MANY * 4 // 5),
            "sending": 0,
            "sent": 0,
            "parked": 3 * (MANY // 5),
            "cancelled": 0,
        }


def test_one_bad_message_in_many_stores_none(session_factory: sessionmaker[Session]) -> None:
    messages = varied("bad", MANY)
    cases = [
        (MANY - 3, replace(messages[0], key="bad:last", recipient="07700 900123"), "no country code"),
        (MANY - 2, replace(messages[0], key="bad:last", body="x" * 1601), "sms body is too long"),
        (
            MANY - 1,
            replace(messages[0], key="bad:last", recipient_name="n" * 201),
            "recipient name is too long",
        ),
    ]
    for n, bad, says in cases:
        with unit_of_work(session_factory) as session, pytest.raises(InvalidInput, match=says):
            outbox.put_many(session, [*messages[:n], bad], now=T0)
    with unit_of_work(session_factory) as session:
        assert sum(outbox_desk.count_by_state(session).values()) == 0
