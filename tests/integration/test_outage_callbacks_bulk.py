"""Hundreds of callbacks in one outage, on SQLite and PostgreSQL: the bulk statements of the
recovery pass keep every callback, write each one's history and tell each customer once.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import _customer_rows
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from standby.customers.outage_callbacks import CallbackPass, look_after_callbacks
from standby.notify.outbox_desk import list_messages
from standby.notify.outbox_insert import PG_COPY_ROWS
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.store.engine import unit_of_work
from standby.store.tables import CallbackEventRow, CallbackRow, OutageRow

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


def test_many_missed_callbacks_are_each_moved_recorded_and_told_once(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        outage = _customer_rows.add_outage(
            session, started_at=T0, ended_at=None, queues=("billing", "moving")
        )
    book(session_factory, COUNT)
    with unit_of_work(session_factory) as session:
        assert look_after_callbacks(session, plan=PLAN, now=T0 + timedelta(minutes=50)) == CallbackPass(
            flagged=COUNT
        )
    end, now = T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=5)
    with unit_of_work(session_factory) as session:
        row = session.get(OutageRow, outage)
        assert row is not None
        row.ended_at, row.queues, row.updated_at = end, [], end
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
