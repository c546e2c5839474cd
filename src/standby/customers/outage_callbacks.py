"""Callbacks an outage hits: flagged at once, rescheduled after recovery, the customer told.

A service run in every response pass (`look_after_callbacks`); it never commits. Each
step is idempotent and works in bulk (a few statements per outage; the callbacks
rescheduled are written with their history in one or two statements, whatever their
number), so the pass stays cheap when nothing changed and quick with 100,000 callbacks.

1. **Flag.** For each outage not merged into another, open or ended in the last
   `RECENT`: the callbacks of the queues it stops answering, booked (scheduled,
   rescheduled or confirmed) and due from its start up to `FLAG_AHEAD` from now while it
   lasts (or up to its end once over), become `flagged` with the outage's id. The
   flagging event keeps the state and outage they had, so they can go back.
2. **Follow merges.** When an outage merges into another, its flagged callbacks follow
   the outage it merged into (to the end of the chain).
3. **Recover.** While an outage lasts, a flagged callback of a queue it no longer stops,
   not yet due, goes back. Once it has ended: flagged callbacks due before its end were
   missed (`missed`), and are rescheduled together into the capacity after recovery
   (`customers.capacity`, `customers.rescheduling`; recovery is the end, or now if later,
   rounded up to a unit) and told their new time once (`callback_messages`); those no
   slot within the horizon can take become `unplaced`, for a person to move. Flagged
   callbacks due at or after the end go back to what they were ("no longer affected").

A queue counts only while the outage stopped it (`lost_spans`, from the change feed): a
queue lost an hour in keeps its callbacks due in the first hour, and one back before the
end keeps those due after it came back (those flagged ahead of time go back).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from standby.customers.callback_messages import CallbackContact, tell_new_times
from standby.customers.capacity import HORIZON_DAYS, backlog_calls, callback_capacity
from standby.customers.rescheduling import Placed, ToPlace, Unplaced, place
from standby.detect.history import OutageRecord, get_outage
from standby.plan.schema import Plan
from standby.store.tables import CallbackEventRow, CallbackRow, OutageRow, StateChangeRow
from standby.store.tables.base import UTCDateTime

FLAG_AHEAD = timedelta(minutes=30)
"""While an outage lasts, callbacks due this soon are flagged: nobody is set to dial them."""
RECENT = timedelta(hours=24)
"""An outage that ended this recently is still looked at (for a worker that was stopped)."""
BOOKED = ("scheduled", "rescheduled", "confirmed")
ACTOR = "standby"
CHUNK = 1000

_C: Table = CallbackRow.__table__  # type: ignore[assignment]
_E: Table = CallbackEventRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class CallbackPass:
    """What one pass did to callbacks."""

    flagged: int = 0
    rescheduled: int = 0
    unplaced: int = 0
    released: int = 0
    told: int = 0

    def __add__(self, other: CallbackPass) -> CallbackPass:
        """Both passes' counts added."""
        return CallbackPass(
            self.flagged + other.flagged,
            self.rescheduled + other.rescheduled,
            self.unplaced + other.unplaced,
            self.released + other.released,
            self.told + other.told,
        )


def look_after_callbacks(
    session: Session, *, plan: Plan, now: datetime, data_dir: Path | None = None
) -> CallbackPass:
    """Flag the callbacks outages hit, and reschedule those of outages that have ended."""
    done = CallbackPass()
    for outage in _outages_to_watch(session, now):
        done += CallbackPass(flagged=_flag(session, outage, now))
        if outage.ended_at is None:
            done += CallbackPass(released=_release_recovered_queues(session, outage, now))
    _follow_merges(session, now)
    for outage in _ended_with_flags(session):
        done += _recover(session, plan=plan, outage=outage, now=now, data_dir=data_dir)
    return done


# ---- flagging ---------------------------------------------------------------------------


def _outages_to_watch(session: Session, now: datetime) -> list[OutageRecord]:
    ids = session.scalars(
        select(OutageRow.id)
        .where(
            OutageRow.merged_into.is_(None),
            OutageRow.exercise_id.is_(None),  # an exercise's outage moves no real callback
            or_(OutageRow.ended_at.is_(None), OutageRow.ended_at >= now - RECENT),
        )
        .order_by(OutageRow.id)
    )
    return [get_outage(session, i) for i in ids]


def _flag(session: Session, outage: OutageRecord, now: datetime) -> int:
    due = _C.c.due_at
    spans = [
        and_(_C.c.queue == queue, due >= since, due < until if until is not None else due <= now + FLAG_AHEAD)
        for queue, since, until in lost_spans(session, outage)
    ]
    if not spans:
        return 0
    hit = and_(_C.c.state.in_(BOOKED), or_(*spans))
    # The history first, while the state before is still there to copy; then only the
    # callbacks whose history was written are flagged (a callback booked in between waits
    # for the next pass).
    data = _json(
        session,
        outage_id=_number(outage.id),
        state_before=_C.c.state,
        outage_before=_C.c.outage_id,
        due_at=_iso(session, due),
    )
    text = f"outage {outage.id} stops its queue at its due time"
    _events_from(session, now, "flagged", literal(text, String()), data, hit, outage_id=outage.id)
    written = exists().where(_E.c.callback_id == _C.c.id, _E.c.kind == "flagged", _E.c.at == now)
    flagged = session.connection().execute(
        update(_C)
        .where(hit, written)
        .values(state="flagged", outage_id=outage.id, flagged_at=now, updated_at=now)
    )
    return int(flagged.rowcount)


def lost_spans(session: Session, outage: OutageRecord) -> list[tuple[str, datetime, datetime | None]]:
    """When the outage stopped each queue: (queue, from, until; None while it still does).

    From the change feed, which records the queues of each shape the outage took; a
    queue lost from the start counts from the outage's start. Without feed entries (an
    outage recorded by other means), its queues over its whole span (once ended without
    any, those it ever stopped).
    """
    feed = session.execute(
        select(StateChangeRow.at, StateChangeRow.data)
        .where(
            StateChangeRow.at >= outage.detected_at,
            StateChangeRow.kind == "outage",
            StateChangeRow.ref == str(outage.id),
        )
        .order_by(StateChangeRow.id)
    ).all()
    found: list[tuple[str, datetime, datetime | None]] = []
    lost: dict[str, datetime] = {}
    for at, data in feed:
        if data.get("event") == "ended":
            break
        queues = set(data.get("queues", []))
        for queue in sorted(queues - lost.keys()):
            lost[queue] = outage.started_at if data.get("event") == "opened" else at
        for queue in sorted(lost.keys() - queues):
            found.append((queue, lost.pop(queue), at))
    if not feed:
        ended_empty = outage.ended_at is not None and not outage.queues
        lost = dict.fromkeys(
            outage.ever.get("queues", []) if ended_empty else outage.queues, outage.started_at
        )
    found.extend((queue, since, outage.ended_at) for queue, since in lost.items())
    return found


def _follow_merges(session: Session, now: datetime) -> None:
    merged = session.execute(
        select(OutageRow.id, OutageRow.merged_into)
        .where(OutageRow.merged_into.is_not(None), _has_flagged())
        .order_by(OutageRow.id)
    ).all()
    for outage_id, into in merged:
        if into is None:  # excluded by the query; for the type checker
            continue
        target = _end_of_chain(session, into)
        ids = list(
            session.scalars(select(_C.c.id).where(_C.c.outage_id == outage_id, _C.c.state == "flagged"))
        )
        for chunk in _chunks(ids):
            session.execute(update(_C).where(_C.c.id.in_(chunk)).values(outage_id=target, updated_at=now))
        text = f"outage {outage_id} merged into outage {target}: it follows that outage"
        _add_events(
            session,
            now,
            "outage_merged",
            ((i, text, {"from": outage_id, "outage_id": target}) for i in ids),
            outage_id=target,
        )


def _end_of_chain(session: Session, outage_id: int) -> int:
    seen = {outage_id}
    while (
        into := session.scalar(select(OutageRow.merged_into).where(OutageRow.id == outage_id))
    ) is not None:
        if into in seen:  # a loop would be a bug elsewhere; stop rather than spin
            break
        seen.add(into)
        outage_id = into
    return outage_id


def _has_flagged() -> ColumnElement[bool]:
    # EXISTS per outage (a few) by the outage_id index, not the distinct outage of every
    # flagged callback (a hundred thousand after a long outage).
    return exists().where(_C.c.outage_id == OutageRow.id, _C.c.state == "flagged")


def _ended_with_flags(session: Session) -> list[OutageRecord]:
    ids = session.scalars(
        select(OutageRow.id)
        .where(
            OutageRow.ended_at.is_not(None),
            OutageRow.merged_into.is_(None),
            _has_flagged(),
        )
        .order_by(OutageRow.id)
    )
    return [get_outage(session, i) for i in ids]


# ---- going back -------------------------------------------------------------------------


def _release_recovered_queues(session: Session, outage: OutageRecord, now: datetime) -> int:
    """Flagged callbacks, not yet due, of queues the outage no longer stops."""
    ids = list(
        session.scalars(
            select(_C.c.id).where(
                _C.c.outage_id == outage.id,
                _C.c.state == "flagged",
                _C.c.queue.not_in(list(outage.queues)),
                _C.c.due_at > now,
            )
        )
    )
    why = f"no longer affected: outage {outage.id} no longer stops its queue"
    return _release(session, ids, now, why, outage_id=outage.id)


def _release(session: Session, ids: Sequence[int], now: datetime, why: str, *, outage_id: int) -> int:
    """Put flagged callbacks back as they were before they were flagged."""
    before: dict[int, tuple[str, int | None]] = {}
    for chunk in _chunks(ids):
        events = session.execute(
            select(_E.c.callback_id, _E.c.data)
            .where(_E.c.callback_id.in_(chunk), _E.c.kind == "flagged")
            .order_by(_E.c.id)
        )
        for callback_id, data in events:  # the latest flagging wins
            before[callback_id] = (data.get("state_before") or "scheduled", data.get("outage_before"))
    groups: dict[tuple[str, int | None], list[int]] = defaultdict(list)
    for callback_id in ids:
        groups[before.get(callback_id, ("scheduled", None))].append(callback_id)
    for (state, outage_before), members in groups.items():
        for chunk in _chunks(members):
            session.execute(
                update(_C)
                .where(_C.c.id.in_(chunk), _C.c.state == "flagged")
                .values(state=state, outage_id=outage_before, updated_at=now)
            )
    _add_events(
        session,
        now,
        "released",
        ((i, f"{why}; back to {before.get(i, ('scheduled',))[0]}", {"outage_id": outage_id}) for i in ids),
        outage_id=outage_id,
    )
    return len(ids)


# ---- after recovery ---------------------------------------------------------------------


def _recover(
    session: Session, *, plan: Plan, outage: OutageRecord, now: datetime, data_dir: Path | None
) -> CallbackPass:
    assert outage.ended_at is not None
    ended = outage.ended_at
    rows = session.execute(
        select(
            _C.c.id,
            _C.c.moves,
            _C.c.customer,
            _C.c.phone,
            _C.c.email,
            _C.c.queue,
            _C.c.due_at,
            _C.c.vulnerable,
        ).where(_C.c.outage_id == outage.id, _C.c.state == "flagged")
    ).all()
    # By position, not by name: a Row's attribute lookup costs more than the rest of the loop.
    missed = [r for r in rows if r[6] < ended]
    released = _release(
        session,
        [r[0] for r in rows if r[6] >= ended],
        now,
        f"no longer affected: outage {outage.id} ended before it was due",
        outage_id=outage.id,
    )
    if not missed:
        return CallbackPass(released=released)
    recovery = max(ended, now)
    capacity = callback_capacity(
        plan,
        recovery=recovery,
        booked=booked_after(session, recovery),
        backlog=backlog_calls(
            plan, dict.fromkeys([*outage.queues, *outage.ever.get("queues", [])]), outage.started_at, ended
        ),
    )
    placement = place([ToPlace(r[0], r[5], r[7], r[6]) for r in missed], capacity)
    by_id = {r[0]: r for r in missed}
    _reschedule(session, placement.placed, outage.id, now)
    _unplace(session, placement.unplaced, by_id, outage.id, now)
    told = tell_new_times(
        session,
        plan=plan,
        callbacks=(_told(by_id[p.id], p, outage.id) for p in placement.placed),
        now=now,
        data_dir=data_dir,
    )
    return CallbackPass(
        rescheduled=len(placement.placed), unplaced=len(placement.unplaced), released=released, told=told
    )


def _told(row: Any, placed: Placed, outage_id: int) -> CallbackContact:
    """What telling the customer of a rescheduled callback needs: its new window and move."""
    callback_id, moves, customer, phone, email, queue, _, _ = row
    return CallbackContact(
        callback_id, moves + 1, customer, phone, email, queue, placed.start, placed.end, outage_id
    )


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
            "ids": ids,
            "slots": slot_of,
            "starts": [start for start, _ in slots],
            "ends": [end for _, end in slots],
            "now": now,
            "actor": ACTOR,
            "outage_id": outage_id,
            "text": f"missed in outage {outage_id}; rescheduled to ",
        }
        connection.exec_driver_sql(_PG_RESCHEDULE, params)
        return
    to_db = _to_db(connection)
    times = [(to_db(start), to_db(end)) for start, end in slots]
    now_db = to_db(now)
    rows = [(*times[k], now_db, now_db, i) for i, k in zip(ids, slot_of, strict=True)]
    connection.exec_driver_sql(_SQLITE_RESCHEDULE, rows)
    due, till = _iso(session, _C.c.due_at), _iso(session, _C.c.window_end)
    text = (
        literal(f"missed in outage {outage_id}; rescheduled to ", String())
        + due
        + literal(" .. ", String())
        + till
        + literal(" and the customer told", String())
    )
    data = _json(session, outage_id=_number(outage_id), due_at=due, window_end=till, moves=_C.c.moves)
    done = and_(_C.c.outage_id == outage_id, _C.c.state == "rescheduled", _C.c.rescheduled_at == now)
    _events_from(session, now, "rescheduled", text, data, done, outage_id=outage_id)


def _unplace(
    session: Session,
    unplaced: Sequence[Unplaced],
    rows: Mapping[int, Any],
    outage_id: int,
    now: datetime,
) -> None:
    for chunk in _chunks([u.id for u in unplaced]):
        session.execute(
            update(_C)
            .where(_C.c.id.in_(chunk), _C.c.state == "flagged")
            .values(state="unplaced", missed=True, updated_at=now)
        )
    _add_events(
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


_PG_ISO_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
_PG_ISO = f"to_char({{}} AT TIME ZONE 'UTC', '{_PG_ISO_FORMAT}')"
_PG_RESCHEDULE = f"""
WITH moved AS (
  UPDATE callbacks AS c
  SET state = 'rescheduled', due_at = s.due_at, window_end = s.window_end, moves = c.moves + 1,
      missed = true, rescheduled_at = %(now)s, updated_at = %(now)s
  FROM unnest(%(ids)s::integer[], %(slots)s::integer[]) AS v(id, slot)
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


# ---- helpers ----------------------------------------------------------------------------


def _events_from(
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
        _number(outage_id),
    ).where(where)
    columns = ["callback_id", "at", "kind", "actor", "text", "data", "outage_id"]
    session.connection().execute(insert(_E).from_select(columns, rows))


def _json(session: Session, **pairs: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON object built by the database from columns and constants."""
    build = func.jsonb_build_object if _dialect(session) == "postgresql" else func.json_object
    args: list[ColumnElement[Any]] = []
    for key, value in pairs.items():
        args += [literal_column(f"'{key}'"), value]  # keys are names written here, never input
    return build(*args)


def _iso(session: Session, column: ColumnElement[datetime]) -> ColumnElement[str]:
    """A UTC time as Python's isoformat writes it (whole seconds), by the database."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), literal_column(f"'{_PG_ISO_FORMAT}'"))
    return func.strftime(literal_column("'%Y-%m-%dT%H:%M:%S+00:00'"), column)


def _to_db(connection: Connection) -> Callable[[datetime], Any]:
    """A time as the driver takes it for a UTCDateTime column (UTC; SQLite's text form)."""
    process = _C.c.due_at.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    assert process is not None
    return process


def _number(value: int) -> ColumnElement[Any]:
    return literal_column(str(int(value)), Integer())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _add_events(
    session: Session,
    now: datetime,
    kind: str,
    events: Iterable[tuple[int, str, dict[str, Any]]],
    *,
    outage_id: int,
) -> None:
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


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
