"""Callbacks an outage made miss, rescheduled together into the capacity after recovery.

A service `outage_callbacks` runs once an outage has ended; it never commits. The missed
callbacks are placed (`customers.rescheduling`) into what is left of the callback
capacity after recovery (`customers.capacity`: the callbacks that keep their time, and the
backlog of calls the outage left, take it first); each placed one gets its new window and
its history in one or two statements whatever their number, and those no slot within the
horizon can take become `unplaced`, for a person to move.
"""

from __future__ import annotations

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


def reschedule_missed(
    session: Session, *, plan: Plan, outage: OutageRecord, missed: Mapping[int, Any], now: datetime
) -> Placement:
    """Give the callbacks the ended outage made miss new times after recovery, or make them unplaced.

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
    placement = place([ToPlace(r[0], r[5], r[7], r[6]) for r in missed.values()], capacity)
    _reschedule(session, placement.placed, outage.id, now)
    _unplace(session, placement.unplaced, missed, outage.id, now)
    return placement


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
    """Give each placed callback its new window, and write its history, in one or two statements.

    Each slot's times are sent once (PostgreSQL) or converted once (SQLite), not once per
    callback; one statement per slot with ids in chunks spent most of its time finding rows.
    On PostgreSQL the history comes from what the update returns (a writable CTE).
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
    to_db = times_for_driver(connection)
    times = [(to_db(start), to_db(end)) for start, end in slots]
    now_db = to_db(now)
    rows = [(*times[k], now_db, now_db, i) for i, k in zip(ids, slot_of, strict=True)]
    connection.exec_driver_sql(_SQLITE_RESCHEDULE, rows)
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
  JOIN unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) WITH ORDINALITY
    AS s(due_at, window_end, n) ON s.n = v.slot + 1
  WHERE c.id = v.id AND c.state = 'flagged'
  RETURNING c.id, c.moves, {_PG_ISO.format("c.due_at")} AS due, {_PG_ISO.format("c.window_end")} AS till
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
_SQLITE_RESCHEDULE = """
UPDATE callbacks
SET state = 'rescheduled', due_at = ?, window_end = ?, moves = moves + 1, missed = 1,
    rescheduled_at = ?, updated_at = ?
WHERE id = ? AND state = 'flagged'
"""
