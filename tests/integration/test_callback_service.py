"""The callbacks ledger as a service, on SQLite and PostgreSQL: imports, duplicates, actions, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.customers.callback_records import LAYOUT
from standby.customers.callback_service import (
    CallbackFilter,
    CallbackImport,
    cancel_callback,
    complete_callback,
    confirm_callback,
    get_callback,
    import_callbacks,
    list_callbacks,
    move_callback,
)
from standby.errors import Conflict, InvalidInput, NotFound
from standby.intake import parse_csv
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables import CallbackEventRow, CallbackRow, MessageRow

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
HEADER = "customer,phone,email,due_at,queue,vulnerable,notes,external_id\n"
GOOD = (
    HEADER
    + "Ada Lovelace,07700 900101,ada@example.com,2026-06-15T14:30:00+01:00,billing,yes,Bill query,crm-1\n"
    + "Bo Diddley,+44 7700 900102,,2026-06-15T15:00:00+01:00,moving,no,,crm-2\n"
    + "Cy Young,07700 900103,,2026-06-16T09:00:00Z,emergency,,,\n"
)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Any:
    return lambda: unit_of_work(session_factory)


def book(uow: Any, plan: Plan, text: str, *, now: datetime = NOW, source: str = "csv") -> CallbackImport:
    parsed = parse_csv(text, LAYOUT)
    with uow() as session:
        return import_callbacks(
            session, plan=plan, rows=parsed.rows, now=now, by="dana", source=source, unread=parsed.problems
        )


def counts(uow: Any) -> tuple[int, int]:
    with uow() as session:
        callbacks = session.scalar(select(func.count()).select_from(CallbackRow))
        events = session.scalar(select(func.count()).select_from(CallbackEventRow))
    return callbacks or 0, events or 0


def test_an_import_books_every_row_with_its_booked_event(uow: Any, plan: Plan) -> None:
    result = book(uow, plan, GOOD)
    assert result.imported == 3 and result.refused == [] and result.refused_rows == 0
    assert result.ids == sorted(result.ids)
    with uow() as session:
        record, history = get_callback(session, result.ids[0])
    assert (record.customer, record.phone, record.email, record.queue) == (
        "Ada Lovelace",
        "+447700900101",
        "ada@example.com",
        "billing",
    )
    assert record.due_at == record.requested_due_at == datetime(2026, 6, 15, 13, 30, tzinfo=UTC)
    assert record.vulnerable and record.state == "scheduled" and record.moves == 0
    assert (record.source, record.created_by, record.created_at) == ("csv", "dana", NOW)
    assert [(e.kind, e.actor, e.text, e.data, e.at) for e in history] == [
        ("booked", "dana", "booked from a CSV import", {"source": "csv"}, NOW)
    ]
    assert counts(uow) == (3, 3)


def test_bad_rows_are_refused_and_the_rest_kept(uow: Any, plan: Plan) -> None:
    text = (
        HEADER
        + "Ada,07700 900101,,2026-06-15T14:30:00+01:00,billing,,,\n"
        + "Bo,07700,,2026-06-15T14:30:00+01:00,billing,,,\n"
        + 'Cy,"07700 900103"x,,2026-06-15T14:30:00+01:00,billing,,,\n'
        + "Di,07700 900104,,2026-06-15T08:00:00+01:00,billing,,,\n"
        + "Ed,07700 900105,,2026-06-15T14:30:00+01:00,billing,,,\n"
        + "Fay,07700 900106,,2026-06-15T14:30:00+01:00,billing,,with a \x00 byte,\n"
    )
    result = book(uow, plan, text)
    assert result.imported == 2
    refused = [(p.row, p.column) for p in result.refused]
    assert refused == [(3, "phone"), (4, None), (5, "due_at"), (7, "notes")]
    with uow() as session:
        names = [r.customer for r in list_callbacks(session)]
    assert names == ["Ada", "Ed"]
    assert counts(uow) == (2, 2)


def test_duplicates_of_booked_callbacks_are_refused_naming_them(uow: Any, plan: Plan) -> None:
    first = book(uow, plan, GOOD)
    again = (
        HEADER
        + "Ada Lovelace,07700 900101,,2026-06-15T14:30:00+01:00,billing,,,\n"  # same booking as crm-1
        + "Someone Else,07700 900199,,2026-06-17T10:00:00+01:00,billing,,,crm-2\n"  # same external id
        + "Cy Young,07700 900103,,2026-06-17T09:00:00Z,emergency,,,\n"  # another time: a new callback
    )
    result = book(uow, plan, again, now=NOW + timedelta(minutes=5))
    assert result.imported == 1
    assert [(p.row, p.column, p.message) for p in result.refused] == [
        (2, None, f"already booked as callback #{first.ids[0]}: the same customer, queue and due time"),
        (3, "external_id", f"already booked as callback #{first.ids[1]}"),
    ]
    assert counts(uow) == (4, 4)
    everything = book(uow, plan, GOOD)
    assert everything.imported == 0 and everything.refused_rows == 3
    assert counts(uow) == (4, 4)


def test_an_empty_import_says_so(uow: Any, plan: Plan) -> None:
    result = book(uow, plan, HEADER)
    assert result.imported == 0
    assert [(p.row, p.message) for p in result.refused] == [(0, "no callbacks in the import")]
    with pytest.raises(InvalidInput):
        book(uow, plan, GOOD, source="fax")


def test_a_large_import_is_booked_whole_in_row_order(uow: Any, plan: Plan) -> None:
    def line(n: int) -> str:
        due = (NOW + timedelta(minutes=n)).isoformat()
        return f"Customer {n},+44 7700 9{n:05d},,{due},billing,{n % 7 == 0},,x{n}\n"

    lines = [line(n) for n in range(25_000)]
    lines[100] = lines[100].replace("billing", "biling")
    result = book(uow, plan, HEADER + "".join(lines))
    assert result.imported == 24_999 and [p.row for p in result.refused] == [102]
    assert counts(uow) == (24_999, 24_999)
    with uow() as session:
        vulnerable = session.scalar(select(func.count()).where(CallbackRow.vulnerable))
        rows = session.execute(select(CallbackRow.id, CallbackRow.external_id).order_by(CallbackRow.id)).all()
    assert vulnerable == len([n for n in range(25_000) if n % 7 == 0 and n != 100])
    assert dict(rows) == dict(zip(result.ids, [f"x{n}" for n in range(25_000) if n != 100], strict=True))


def test_listing_filters_and_pages(uow: Any, plan: Plan) -> None:
    ids = book(uow, plan, GOOD).ids
    with uow() as session:
        cancel_callback(session, callback_id=ids[2], reason="customer rang in", now=NOW, by="eve")
        assert [r.id for r in list_callbacks(session, where=CallbackFilter(state="cancelled"))] == [ids[2]]
        assert [r.id for r in list_callbacks(session, where=CallbackFilter(queue="moving"))] == [ids[1]]
        assert [r.id for r in list_callbacks(session, where=CallbackFilter(vulnerable=False))] == ids[1:]
        due = CallbackFilter(
            due_from=datetime(2026, 6, 15, 14, 0, tzinfo=UTC), due_to=datetime(2026, 6, 16, tzinfo=UTC)
        )
        assert [r.id for r in list_callbacks(session, where=due)] == [ids[1]]
        assert list_callbacks(session, where=CallbackFilter(outage_id=7)) == []
        assert [r.id for r in list_callbacks(session, after_id=ids[0], limit=1)] == [ids[1]]
        with pytest.raises(InvalidInput, match="unknown state 'lost'"):
            list_callbacks(session, where=CallbackFilter(state="lost"))


def test_the_life_of_a_callback_is_in_its_history(uow: Any, plan: Plan) -> None:
    ada = book(uow, plan, GOOD).ids[0]
    later = NOW + timedelta(minutes=10)
    new_time = datetime(2026, 6, 16, 10, 0, tzinfo=UTC)
    with uow() as session:
        confirmed = confirm_callback(session, callback_id=ada, now=NOW, by="eve")
        assert confirmed.state == "confirmed"
        with pytest.raises(Conflict, match="already agreed"):
            confirm_callback(session, callback_id=ada, now=NOW, by="eve")
    with uow() as session:
        moved = move_callback(
            session,
            plan=plan,
            callback_id=ada,
            due_at=new_time,
            window_end=new_time + timedelta(minutes=30),
            reason="customer asked for tomorrow",
            now=later,
            by="eve",
        )
    assert (moved.state, moved.due_at, moved.moves) == ("rescheduled", new_time, 1)
    assert moved.requested_due_at == datetime(2026, 6, 15, 13, 30, tzinfo=UTC) and moved.updated_at == later
    with uow() as session:
        (message,) = session.scalars(select(MessageRow)).all()
        assert message.idempotency_key == f"callback:{ada}:time:1" and message.channel == "sms"
        assert message.recipient == "+447700900101"
        confirm_callback(session, callback_id=ada, now=later, by="eve")
        completed = complete_callback(session, callback_id=ada, notes="sorted the bill", now=later, by="eve")
        assert completed.state == "completed"
        with pytest.raises(Conflict, match="it is final"):
            move_callback(
                session,
                plan=plan,
                callback_id=ada,
                due_at=new_time + timedelta(hours=1),
                reason="again",
                now=later,
                by="eve",
            )
        with pytest.raises(Conflict, match="it is final"):
            cancel_callback(session, callback_id=ada, reason="x", now=later, by="eve")
        _, history = get_callback(session, ada)
    assert [(e.kind, e.actor) for e in history] == [
        ("booked", "dana"),
        ("confirmed", "eve"),
        ("moved", "eve"),
        ("told", "eve"),
        ("confirmed", "eve"),
        ("completed", "eve"),
    ]
    moved_event = history[2]
    assert moved_event.text.endswith(": customer asked for tomorrow")
    assert moved_event.data["due_at"] == new_time.isoformat() and moved_event.data["moves"] == 1
    assert history[3].data["message_id"] == message.id
    assert history[5].text == "sorted the bill"


def test_moves_that_cannot_be_made(uow: Any, plan: Plan) -> None:
    ada = book(uow, plan, GOOD).ids[0]
    tomorrow = datetime(2026, 6, 16, 10, 0, tzinfo=UTC)

    def move(**changes: Any) -> None:
        values: dict[str, Any] = {
            "plan": plan,
            "callback_id": ada,
            "due_at": tomorrow,
            "reason": "asked",
            "now": NOW,
            "by": "eve",
            **changes,
        }
        with uow() as session:
            move_callback(session, **values)

    with pytest.raises(InvalidInput, match="in the past"):
        move(due_at=NOW - timedelta(hours=1))
    with pytest.raises(InvalidInput, match="no UTC offset"):
        move(due_at=datetime(2026, 6, 16, 10, 0))
    with pytest.raises(InvalidInput, match="366 days"):
        move(due_at=NOW + timedelta(days=400))
    with pytest.raises(InvalidInput, match="window_end: must be after due_at"):
        move(window_end=tomorrow - timedelta(minutes=1))
    with pytest.raises(InvalidInput, match="window_end: has no UTC offset"):
        move(window_end=datetime(2026, 6, 16, 10, 30))
    with pytest.raises(InvalidInput, match="reason: required"):
        move(reason="  ")
    with pytest.raises(InvalidInput, match="already due then"):
        move(due_at=datetime(2026, 6, 15, 13, 30, tzinfo=UTC))
    with pytest.raises(NotFound):
        move(callback_id=999_999)
    with uow() as session:
        record, history = get_callback(session, ada)
        assert record.moves == 0 and [e.kind for e in history] == ["booked"]
        assert session.scalars(select(MessageRow)).all() == []


def test_flagged_and_unplaced_callbacks_must_be_moved_before_confirming(uow: Any, plan: Plan) -> None:
    ids = book(uow, plan, GOOD).ids
    with uow() as session:
        for callback_id, state in zip(ids, ("flagged", "unplaced"), strict=False):
            row = session.get(CallbackRow, callback_id)
            assert row is not None
            row.state = state
    with uow() as session:
        with pytest.raises(Conflict, match="an outage stops its queue"):
            confirm_callback(session, callback_id=ids[0], now=NOW, by="eve")
        with pytest.raises(Conflict, match="no time the centre can keep"):
            confirm_callback(session, callback_id=ids[1], now=NOW, by="eve")
        moved = move_callback(
            session,
            plan=plan,
            callback_id=ids[1],
            due_at=NOW + timedelta(hours=2),
            reason="capacity found",
            now=NOW,
            by="eve",
        )
        assert moved.state == "rescheduled"
        assert confirm_callback(session, callback_id=ids[1], now=NOW, by="eve").state == "confirmed"
        cancelled = cancel_callback(
            session, callback_id=ids[0], reason="duplicate in the CRM", now=NOW, by="eve"
        )
        assert cancelled.state == "cancelled"
        with pytest.raises(InvalidInput, match="reason: required"):
            cancel_callback(session, callback_id=ids[2], reason="", now=NOW, by="eve")
        with pytest.raises(NotFound):
            get_callback(session, 999_999)
