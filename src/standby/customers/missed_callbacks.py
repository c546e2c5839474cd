"""Callbacks an outage made miss, rescheduled together into the capacity after recovery.

A service `outage_callbacks` runs once an outage has ended; it never commits. The missed
callbacks are placed (`customers.rescheduling`) into what is left of the callback
capacity after recovery (`customers.capacity`: the callbacks that keep their time, and the
backlog of calls the outage left, take it first); each placed one gets its new window and
its history in a few statements whatever their number, and those no slot within the
horizon can take become `unplaced`, for a person to move.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Table, and_, literal, select, update
from sqlalchemy.orm import Session

from standby.customers.callback_history import (
    ACTOR,
    PG_ISO_FORMAT,
    add_events,
    chunks,
    events_from,
    iso_text,
    json_object,
    number,
    times_for_driver,
)
from standby.customers.capacity import HORIZON_DAYS, backlog_calls, callback_capacity
from standby.customers.rescheduling import Placed, Placement, ToPlace, Unplaced, place
from standby.detect.history import OutageRecord
from standby.plan.schema import Plan
from standby.store.tables import CallbackRow

BOOKED = ("scheduled", "rescheduled", "confirmed")
"""The states of a callback that keeps a time."""

_C: Table = CallbackRow.__table__  # type: ignore[assignment]


def place_missed(
    session: Session, *, plan: Plan, outage: OutageRecord, missed: Mapping[int, Any], now: datetime
) -> Placement:
    """Where the callbacks the ended outage made miss go after recovery (nothing written yet).

    `missed`: each callback's row by id, in the order read: (id, moves, customer, phone,
    email, queue, due_at, vulnerable). Recovery is the outage's end, or now if later.
    """
    assert outage.ended_at is not None
    ended = outage.ended_at
    recovery = max(ended, now)
    capacity = callback_capacity(
        plan,
        recovery=recovery,
        booked=booked_after(session, recovery),
        backlog=backlog_calls(
            plan, dict.fromkeys([*outage.queues, *outage.ever.get("queues", [])]), outage.started_at, ended
        ),
    )
    return place([ToPlace(r[0], r[5], r[7], r[6]) for r in missed.values()], capacity)


def write_placement(
    session: Session, placement: Placement, missed: Mapping[int, Any], *, outage_id: int, now: datetime
) -> None:
    """Give each placed callback its new window, and make the others unplaced, with their history."""
    _reschedule(session, placement.placed, outage_id, now)
    _unplace(session, placement.unplaced, missed, outage_id, now)


def booked_after(session: Session, recovery: datetime) -> list[tuple[str, datetime]]:
    """Callbacks that keep their time within the horizon: they take capacity first."""
    rows = session.execute(
        select(_C.c.queue, _C.c.due_at).where(
            _C.c.state.in_(BOOKED),
            _C.c.due_at >= recovery,
            _C.c.due_at < recovery + timedelta(days=HORIZON_DAYS + 1),
        )
    )
    return [(queue, due_at) for queue, due_at in rows]


def _reschedule(session: Session, placed: Sequence[Placed], outage_id: int, now: datetime) -> None:
    """Give each placed callback its new window, and write its history, in a few statements.

    Each slot's times are sent or converted once, not once per callback. PostgreSQL: one
    statement, the history written from what the update returns (a writable CTE). SQLite:
    one statement per slot, its ids as one JSON array each found by its key, then the
    history in one more.
    """
    if not placed:
        return
    slots: dict[tuple[datetime, datetime], int] = {}
    ids = [p.id for p in placed]
    slot_of = [slots.setdefault((p.start, p.end), len(slots)) for p in placed]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        params = {
            # As one text each, split by the server: psycopg dumps an integer array item by
            # item in Python, which cost more than the rest of the statement's sending.
            "ids": ",".join(map(str, ids)),
            "slots": ",".join(map(str, slot_of)),
            "starts": [start for start, _ in slots],
            "ends": [end for _, end in slots],
            "now": now,
            "actor": ACTOR,
            "outage_id": outage_id,
            "text": f"missed in outage {outage_id}; rescheduled to ",
        }
        connection.exec_driver_sql(_PG_RESCHEDULE, params)
        return
    # One statement per slot, its ids as a JSON array: SQLite runs each whole without
    # Python's lock (an executemany takes it back for every row), so the pass can render
    # the customers' messages meanwhile (`store.write_behind`).
    members: list[list[int]] = [[] for _ in slots]
    for callback_id, k in zip(ids, slot_of, strict=True):
        members[k].append(callback_id)
    to_db = times_for_driver(connection)
    now_db = to_db(now)
    for (start, end), slot_ids in zip(slots, members, strict=True):
        connection.exec_driver_sql(
            _SQLITE_RESCHEDULE, (to_db(start), to_db(end), now_db, now_db, json.dumps(slot_ids))
        )
    due, till = iso_text(session, _C.c.due_at), iso_text(session, _C.c.window_end)
    text = (
        literal(f"missed in outage {outage_id}; rescheduled to ", String())
        + due
        + literal(" .. ", String())
        + till
        + literal(" and the customer told", String())
    )
    data = json_object(session, outage_id=number(outage_id), due_at=due, window_end=till, moves=_C.c.moves)
    done = and_(_C.c.outage_id == outage_id, _C.c.state == "rescheduled", _C.c.rescheduled_at == now)
    events_from(session, now, "rescheduled", text, data, done, outage_id=outage_id)


def _unplace(
    session: Session,
    unplaced: Sequence[Unplaced],
    rows: Mapping[int, Any],
    outage_id: int,
    now: datetime,
) -> None:
    for chunk in chunks([u.id for u in unplaced]):
        session.execute(
            update(_C)
            .where(_C.c.id.in_(chunk), _C.c.state == "flagged")
            .values(state="unplaced", missed=True, updated_at=now)
        )
    add_events(
        session,
        now,
        "unplaced",
        (
            (
                u.id,
                f"missed in outage {outage_id}; {u.reason}: a person must give it a new time",
                {"outage_id": outage_id, "from": rows[u.id].due_at.isoformat(), "reason": u.reason},
            )
            for u in unplaced
        ),
        outage_id=outage_id,
    )


_PG_ISO = f"to_char({{}} AT TIME ZONE 'UTC', '{PG_ISO_FORMAT}')"
_PG_RESCHEDULE = f"""
WITH moved AS (
  UPDATE callbacks AS c
  SET state = 'rescheduled', due_at = s.due_at, window_end = s.window_end, moves = c.moves + 1,
      missed = true, rescheduled_at = %(now)s, updated_at = %(now)s
  FROM unnest(string_to_array(%(ids)s, ',')::integer[], string_to_array(%(slots)s, ',')::integer[])
    AS v(id, slot)
  JOIN (
    SELECT due_at, window_end, n,
           {_PG_ISO.format("due_at")} AS due, {_PG_ISO.format("window_end")} AS till
    FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[])
      WITH ORDINALITY AS t(due_at, window_end, n)
  ) AS s ON s.n = v.slot + 1
  WHERE c.id = v.id AND c.state = 'flagged'
  -- Each slot's times are spelled once, not once for each of its callbacks.
  RETURNING c.id, c.moves, s.due, s.till
)
INSERT INTO callback_events (callback_id, at, kind, actor, text, data, outage_id)
SELECT id, %(now)s, 'rescheduled', %(actor)s,
       %(text)s::text || due || ' .. ' || till || ' and the customer told',
       jsonb_build_object(
         'outage_id', %(outage_id)s::integer, 'due_at', due, 'window_end', till, 'moves', moves
       ),
       %(outage_id)s::integer
FROM moved
"""
# `+` keeps SQLite from starting at the state index: it would then read every flagged
# callback once for each id (minutes for 100,000), where each id is found by its key.
_SQLITE_RESCHEDULE = """
UPDATE callbacks
SET state = 'rescheduled', due_at = ?, window_end = ?, moves = moves + 1, missed = 1,
    rescheduled_at = ?, updated_at = ?
FROM json_each(?) AS j
WHERE callbacks.id = j.value AND +callbacks.state = 'flagged'
"""
