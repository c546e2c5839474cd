"""Hundreds of callbacks in one outage, on SQLite and PostgreSQL: the bulk statements of the
recovery pass keep every callback, write each one's history and tell each customer once.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _customer_rows
import pytest
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from standby.customers.missed_callbacks import _SQLITE_RESCHEDULE
from standby.customers.outage_callbacks import CallbackPass, look_after_callbacks
from standby.notify.outbox_desk import list_messages
from standby.notify.outbox_insert import PG_COPY_ROWS
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.respond.templates import TemplateProblem
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade
from standby.store.tables import CallbackEventRow, CallbackRow, MessageRow, OutageRow

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday; Europe/London is on UTC
PLAN = load_plan_text(reference_plan_text())
COUNT = 2 * PG_COPY_ROWS + 50  # enough for the outbox's bulk path on PostgreSQL


def book(factory: sessionmaker[Session], count: int) -> None:
    rng = random.Random(6)
    rows: list[dict[str, Any]] = []
    for n in range(count):
        due = T0 + timedelta(seconds=rng.randrange(3600))
        rows.append(
            {
                "customer": f"Customer {n}",
                "phone": f"+4477009{n:05d}",
                "customer_key": f"+4477009{n:05d}",
                "queue": ("billing", "moving")[n % 2],
                "vulnerable": n % 7 == 0,
                "requested_due_at": due,
                "due_at": due,
                "state": ("scheduled", "confirmed", "rescheduled")[n % 3],
                "moves": n % 3,
                "source": "csv",
                "created_by": "test",
                "created_at": T0 - timedelta(days=1),
                "updated_at": T0 - timedelta(days=1),
            }
        )
    with unit_of_work(factory) as session:
        session.execute(insert(CallbackRow), rows)


def flagged_then_ended(factory: sessionmaker[Session], count: int) -> tuple[int, datetime]:
    """An outage that hit `count` callbacks, flagged, then ended: (its id, a time after its end)."""
    with unit_of_work(factory) as session:
        outage = _customer_rows.add_outage(
            session, started_at=T0, ended_at=None, queues=("billing", "moving")
        )
    book(factory, count)
    with unit_of_work(factory) as session:
        flagging = look_after_callbacks(session, plan=PLAN, now=T0 + timedelta(minutes=50))
    assert flagging == CallbackPass(flagged=count)
    end = T0 + timedelta(hours=1)
    with unit_of_work(factory) as session:
        row = session.get(OutageRow, outage)
        assert row is not None
        row.ended_at, row.queues, row.updated_at = end, [], end
    return outage, end + timedelta(seconds=5)


def test_many_missed_callbacks_are_each_moved_recorded_and_told_once(
    session_factory: sessionmaker[Session],
) -> None:
    outage, now = flagged_then_ended(session_factory, COUNT)
    end = T0 + timedelta(hours=1)
    with unit_of_work(session_factory) as session:
        done = look_after_callbacks(session, plan=PLAN, now=now)
    assert done.rescheduled + done.unplaced == COUNT and done.told == done.rescheduled > 0
    with unit_of_work(session_factory) as session:
        callbacks = {c.id: c for c in session.scalars(select(CallbackRow))}
        last_event = {
            e.callback_id: e for e in session.scalars(select(CallbackEventRow).order_by(CallbackEventRow.id))
        }
        messages = {m.key: m for m in list_messages(session, limit=10 * COUNT)}
    moved = [c for c in callbacks.values() if c.state == "rescheduled"]
    assert len(moved) == done.rescheduled and len(messages) == done.told
    zone = ZoneInfo(PLAN.organisation.timezone)
    for c in moved:
        assert c.window_end is not None and c.due_at >= end and c.missed and c.rescheduled_at == now
        due, till = c.due_at.isoformat(), c.window_end.isoformat()
        event = last_event[c.id]
        assert (event.kind, event.actor, event.at) == ("rescheduled", "standby", now)
        assert (
            event.text == f"missed in outage {outage}; rescheduled to {due} .. {till} and the customer told"
        )
        assert event.data == {"outage_id": outage, "due_at": due, "window_end": till, "moves": c.moves}
        message = messages[f"callback:{c.id}:time:{c.moves}"]
        assert (message.channel, message.recipient, message.recipient_name) == ("sms", c.phone, c.customer)
        start, stop = c.due_at.astimezone(zone), c.window_end.astimezone(zone)
        assert f"between {start:%H:%M} and {stop:%H:%M}" in message.body
    # One more move each than before the outage (the booking gave callback n n % 3 moves).
    order = sorted(callbacks)
    assert [callbacks[i].moves for i in order if callbacks[i].state == "rescheduled"] == [
        n % 3 + 1 for n, i in enumerate(order) if callbacks[i].state == "rescheduled"
    ]
    # Vulnerable customers first in each queue.
    by_queue: dict[tuple[str, bool], list[datetime]] = defaultdict(list)
    for c in moved:
        by_queue[(c.queue, c.vulnerable)].append(c.due_at)
    for queue in ("billing", "moving"):
        assert max(by_queue[(queue, True)]) <= min(by_queue[(queue, False)])
    # Every worker's next pass: nothing more.
    with unit_of_work(session_factory) as session:
        assert look_after_callbacks(session, plan=PLAN, now=now + timedelta(seconds=5)) == CallbackPass()
        assert len(list_messages(session, limit=10 * COUNT)) == done.told


def test_a_pass_whose_messages_cannot_be_written_moves_no_callback(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The callbacks are written in a second thread while their messages are rendered; a template
    that cannot be used stops the pass, and the callbacks written meanwhile are rolled back."""
    _, now = flagged_then_ended(session_factory, 300)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "callback.moved.sms.j2").write_text("{{ organisation.name }}: {{ callback.nowhere }}\n")
    with pytest.raises(TemplateProblem), unit_of_work(session_factory) as session:
        look_after_callbacks(session, plan=PLAN, now=now, data_dir=tmp_path)
    with unit_of_work(session_factory) as session:
        states = set(session.scalars(select(CallbackRow.state)))
        kinds = set(session.scalars(select(CallbackEventRow.kind)))
        assert (states, kinds) == ({"flagged"}, {"flagged"})
        assert session.scalars(select(MessageRow)).first() is None
    # Once the template is mended, the next pass does it all.
    (templates / "callback.moved.sms.j2").write_text("{{ organisation.name }}: {{ callback.start }}\n")
    with unit_of_work(session_factory) as session:
        done = look_after_callbacks(session, plan=PLAN, now=now, data_dir=tmp_path)
    assert done.rescheduled + done.unplaced == 300 and done.told == done.rescheduled > 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_moves_each_slots_callbacks_by_their_ids(engine: Engine) -> None:
    """The statement that moves a slot's callbacks finds each by its id: were SQLite to start
    from the state index, it would read every flagged callback once for each id (minutes)."""
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {_SQLITE_RESCHEDULE}", ("a", "b", "c", "d", "[1, 2]")
        ).all()
    steps = [row[3] for row in plan]
    assert steps[0].startswith("SCAN j"), steps
    assert steps[1] == "SEARCH callbacks USING INTEGER PRIMARY KEY (rowid=?)", steps


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_looks_for_callbacks_to_flag_among_booked_ones_only(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """The flagging statements, run in every pass while an outage lasts and for a day after,
    start at the state index: the queue index would have them read every callback of the
    queue in the span, the 100,000 flagged already too."""
    with unit_of_work(session_factory) as session:
        _customer_rows.add_outage(session, started_at=T0, ended_at=None, queues=("billing", "moving"))
    book(session_factory, 20)
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "callbacks.state IN" in statement and not many:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with unit_of_work(session_factory) as session:
            assert look_after_callbacks(session, plan=PLAN, now=T0 + timedelta(minutes=50)).flagged == 20
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) == 2  # the history's INSERT .. SELECT, then the UPDATE
    with engine.connect() as connection:
        for statement, parameters in seen:
            explained = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            searches = [row[3] for row in explained if row[3].split(" ")[:2][-1] == "callbacks"]
            assert searches, statement
            state_index = "SEARCH callbacks USING INDEX ix_callbacks_state_due_at"
            assert all(s.startswith(state_index) for s in searches), searches


def test_an_in_memory_database_writes_in_the_callers_thread() -> None:
    """SQLite's in-memory connection cannot be used from another thread: the pass writes at once."""
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        _, now = flagged_then_ended(factory, 40)
        with unit_of_work(factory) as session:
            done = look_after_callbacks(session, plan=PLAN, now=now)
        assert done.rescheduled + done.unplaced == 40 and done.told == done.rescheduled > 0
    finally:
        engine.dispose()
