"""Callbacks an outage hits: flagged at once, rescheduled after recovery, the customer told.

A service run in every response pass (`look_after_callbacks`); it never commits. Each
step is idempotent and works in bulk (a few statements per outage; the callbacks
rescheduled are written with their history in a few statements, whatever their
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
   (`customers.missed_callbacks`; recovery is the end, or now if later, rounded up to a
   unit) and told their new time once (`callback_messages`); those no slot within the
   horizon can take become `unplaced`, for a person to move. Flagged
   callbacks due at or after the end go back to what they were ("no longer affected").

A queue counts only while the outage stopped it (`lost_spans`, from the change feed): a
queue lost an hour in keeps its callbacks due in the first hour, and one back before the
end keeps those due after it came back (those flagged ahead of time go back).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    exists,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from standby.customers.callback_history import add_events, chunks, events_from, iso_text, json_object, number
from standby.customers.callback_messages import CallbackContact, new_time_messages
from standby.customers.missed_callbacks import BOOKED, place_missed, write_placement
from standby.customers.rescheduling import Placed
from standby.detect.history import OutageRecord, get_outage
from standby.garbage_collection import collection_paused
from standby.notify.outbox_shared import put_checked
from standby.plan.schema import Plan
from standby.store.tables import CallbackEventRow, CallbackRow, OutageRow, StateChangeRow
from standby.store.write_behind import write_behind

FLAG_AHEAD = timedelta(minutes=30)
"""While an outage lasts, callbacks due this soon are flagged: nobody is set to dial them."""
RECENT = timedelta(hours=24)
"""An outage that ended this recently is still looked at (for a worker that was stopped)."""

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
        # Up to a hundred thousand callbacks read, placed and told: as many rows, tuples and
        # messages, which would set the cyclic collector off again and again for nothing.
        with collection_paused():
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
    of_queue: ColumnElement[str] = _C.c.queue
    if session.get_bind().dialect.name == "sqlite":
        # SQLite, without statistics, would look each queue's span up in the queue index and
        # read every callback there, flagged already or not (100,000 after a long outage, in
        # each pass for a day after it ends); `+` leaves it the state index: booked ones only.
        of_queue = literal_column("+callbacks.queue", String())
    spans = [
        and_(of_queue == queue, due >= since, due < until if until is not None else due <= now + FLAG_AHEAD)
        for queue, since, until in lost_spans(session, outage)
    ]
    if not spans:
        return 0
    hit = and_(_C.c.state.in_(BOOKED), or_(*spans))
    # The history first, while the state before is still there to copy; then only the
    # callbacks whose history was written are flagged (a callback booked in between waits
    # for the next pass).
    data = json_object(
        session,
        outage_id=number(outage.id),
        state_before=_C.c.state,
        outage_before=_C.c.outage_id,
        due_at=iso_text(session, due),
    )
    text = f"outage {outage.id} stops its queue at its due time"
    events_from(session, now, "flagged", literal(text, String()), data, hit, outage_id=outage.id)
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
        for chunk in chunks(ids):
            session.execute(update(_C).where(_C.c.id.in_(chunk)).values(outage_id=target, updated_at=now))
        text = f"outage {outage_id} merged into outage {target}: it follows that outage"
        add_events(
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
    for chunk in chunks(ids):
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
        for chunk in chunks(members):
            session.execute(
                update(_C)
                .where(_C.c.id.in_(chunk), _C.c.state == "flagged")
                .values(state=state, outage_id=outage_before, updated_at=now)
            )
    add_events(
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
        )
        .where(_C.c.outage_id == outage.id, _C.c.state == "flagged")
        # The order `rescheduling.place` sorts in, so that its sort finds them already sorted.
        .order_by(_C.c.due_at, _C.c.id)
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
    by_id = {r[0]: r for r in missed}
    placement = place_missed(session, plan=plan, outage=outage, missed=by_id, now=now)
    # The callbacks and their history are written (seconds, for a hundred thousand) while
    # their customers' messages are rendered and checked; the session is left alone meanwhile.
    with write_behind(session) as writes:
        writes.run(partial(write_placement, session, placement, by_id, outage_id=outage.id, now=now))
        messages = new_time_messages(
            plan, (_told(by_id[p.id], p, outage.id) for p in placement.placed), data_dir
        )
    told = put_checked(session, messages, now=now)
    return CallbackPass(
        rescheduled=len(placement.placed), unplaced=len(placement.unplaced), released=released, told=told
    )


def _told(row: Any, placed: Placed, outage_id: int) -> CallbackContact:
    """What telling the customer of a rescheduled callback needs: its new window and move."""
    callback_id, moves, customer, phone, email, queue, _, _ = row
    return CallbackContact(
        callback_id, moves + 1, customer, phone, email, queue, placed.start, placed.end, outage_id
    )
