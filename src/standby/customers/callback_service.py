"""The callbacks ledger: booking imports, listing, a callback's history, and the hand actions.

A service: functions take a Session and the time, and never commit; the unit of work
around them does, so a callback and its "booked" event are stored together or not at
all. Imports take the good rows and refuse the bad ones, each with its reason. A
duplicate of a callback already booked (same external_id, or same customer, queue and
requested time) is refused by the database's unique constraints through INSERT .. ON
CONFLICT DO NOTHING, so two imports racing each other still book each callback once.

Hand actions follow the callback's life: scheduled, flagged by an outage, rescheduled,
confirmed by the customer, unplaced (no capacity: a person must move it), and finally
completed or cancelled. Each action leaves an event with who did it and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from standby.customers.callback_booking import book_callbacks
from standby.customers.callback_messages import tell_new_time
from standby.customers.callback_records import MAX_NOTES, check_callbacks, time_problem
from standby.errors import Conflict, InvalidInput, NotFound
from standby.intake import RowProblem
from standby.plan.schema import Plan
from standby.store.tables import CallbackEventRow, CallbackRow
from standby.store.tables.customers import CALLBACK_STATES, SOURCES

CHUNK = 20_000
"""Rows booked at a time: large enough to be fast, small enough to keep one statement's memory modest."""
BOOKED_TEXT = {"api": "booked through the API", "csv": "booked from a CSV import"}
MAX_LIST = 1000
MAX_REASON = 500
MAX_WINDOW = timedelta(hours=8)
FINAL = frozenset({"completed", "cancelled"})
CONFIRMABLE = frozenset({"scheduled", "rescheduled"})


@dataclass(frozen=True)
class CallbackImport:
    """What an import booked and what it refused."""

    ids: list[int]
    refused: list[RowProblem]
    """Every problem of the refused rows, in row order."""

    @property
    def imported(self) -> int:
        """How many callbacks were booked."""
        return len(self.ids)

    @property
    def refused_rows(self) -> int:
        """How many rows were refused."""
        return len({p.row for p in self.refused})


@dataclass(frozen=True)
class CallbackRecord:
    """A callback in the ledger."""

    id: int
    external_id: str | None
    customer: str
    phone: str
    email: str | None
    queue: str
    vulnerable: bool
    notes: str | None
    requested_due_at: datetime
    due_at: datetime
    window_end: datetime | None
    state: str
    outage_id: int | None
    missed: bool
    moves: int
    source: str
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CallbackEvent:
    """One entry of a callback's history."""

    at: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True)
class CallbackFilter:
    """Which callbacks to list; None means no condition."""

    state: str | None = None
    queue: str | None = None
    vulnerable: bool | None = None
    outage_id: int | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    outstanding: bool | None = None
    """True: only those still to make (neither completed nor cancelled); False: only those."""


def import_callbacks(
    session: Session,
    *,
    plan: Plan,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    now: datetime,
    by: str,
    source: str,
    unread: Sequence[RowProblem] = (),
) -> CallbackImport:
    """Book every good row (with its "booked" event); refuse the rest, each with its reasons.

    `unread` are the problems of rows the CSV or JSON reader could not read; they are
    reported with the others.
    """
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    refused = list(unread)
    if not rows and not unread:
        refused.append(RowProblem(0, None, "no callbacks in the import"))
    checked = check_callbacks(rows, plan=plan, now=now)
    refused += checked.problems
    booked: list[tuple[int, int]] = []
    for start in range(0, len(checked.valid), CHUNK):
        part = checked.valid[start : start + CHUNK]
        done, duplicates = book_callbacks(
            session, part, now=now, by=by, source=source, text=BOOKED_TEXT[source]
        )
        booked += [(row.row, callback_id) for row, callback_id in done]
        refused += duplicates
    ids = [callback_id for _, callback_id in sorted(booked)]
    return CallbackImport(ids=ids, refused=sorted(refused))


def list_callbacks(
    session: Session, *, where: CallbackFilter | None = None, after_id: int = 0, limit: int = 100
) -> list[CallbackRecord]:
    """Callbacks matching `where`, by id, those after `after_id` (paging), at most `limit` (<= MAX_LIST)."""
    query = _matching(where).where(CallbackRow.id > after_id)
    query = query.order_by(CallbackRow.id).limit(max(1, min(limit, MAX_LIST)))
    return [record_of(row) for row in session.scalars(query)]


def callback_worklist(
    session: Session,
    *,
    where: CallbackFilter | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 100,
) -> list[CallbackRecord]:
    """Callbacks matching `where` as an agent works them: due soonest first (then by id), those
    after `after` (the due time and id of the last one of the page before), at most `limit`."""
    query = _matching(where)
    if after is not None:
        due, last_id = after
        query = query.where(
            (CallbackRow.due_at > due) | ((CallbackRow.due_at == due) & (CallbackRow.id > last_id))
        )
    query = query.order_by(CallbackRow.due_at, CallbackRow.id).limit(max(1, min(limit, MAX_LIST)))
    return [record_of(row) for row in session.scalars(query)]


def _matching(where: CallbackFilter | None) -> Select[CallbackRow]:
    """The callbacks `where` asks for, unordered; InvalidInput for an unknown state."""
    where = where or CallbackFilter()
    if where.state is not None and where.state not in CALLBACK_STATES:
        raise InvalidInput(f"unknown state {where.state!r}: one of {', '.join(CALLBACK_STATES)}")
    query = select(CallbackRow)
    if where.state is not None:
        query = query.where(CallbackRow.state == where.state)
    if where.queue is not None:
        query = query.where(CallbackRow.queue == where.queue)
    if where.vulnerable is not None:
        query = query.where(CallbackRow.vulnerable.is_(where.vulnerable))
    if where.outage_id is not None:
        query = query.where(CallbackRow.outage_id == where.outage_id)
    if where.due_from is not None:
        query = query.where(CallbackRow.due_at >= where.due_from)
    if where.due_to is not None:
        query = query.where(CallbackRow.due_at < where.due_to)
    if where.outstanding is not None:
        final = CallbackRow.state.in_(sorted(FINAL))
        query = query.where(~final if where.outstanding else final)
    return query


def get_callback(session: Session, callback_id: int) -> tuple[CallbackRecord, list[CallbackEvent]]:
    """A callback and its history, oldest first; NotFound when there is none with that id."""
    row = _row(session, callback_id)
    return record_of(row), history(session, callback_id)


def history(session: Session, callback_id: int) -> list[CallbackEvent]:
    """A callback's events, oldest first."""
    query = (
        select(CallbackEventRow)
        .where(CallbackEventRow.callback_id == callback_id)
        .order_by(CallbackEventRow.at, CallbackEventRow.id)
    )
    return [CallbackEvent(e.at, e.kind, e.actor, e.text, dict(e.data)) for e in session.scalars(query)]


def confirm_callback(session: Session, *, callback_id: int, now: datetime, by: str) -> CallbackRecord:
    """The customer agreed the time: scheduled or rescheduled becomes confirmed."""
    row = _open_row(session, callback_id)
    if row.state not in CONFIRMABLE:
        raise Conflict(f"callback #{callback_id} cannot be confirmed: {_why_not_confirmable(row)}")
    row.state, row.confirmed_at = "confirmed", now
    _event(session, row, now=now, kind="confirmed", actor=by, text=f"the customer agreed {_when(row)}")
    return record_of(row)


def _why_not_confirmable(row: CallbackRow) -> str:
    if row.state == "confirmed":
        return f"the customer already agreed {_when(row)}"
    if row.state == "flagged":
        return "an outage stops its queue at its due time; move it to a time that can be kept first"
    return "it has no time the centre can keep; move it to one first"


def move_callback(
    session: Session,
    *,
    plan: Plan,
    callback_id: int,
    due_at: datetime,
    window_end: datetime | None = None,
    reason: str,
    now: datetime,
    by: str,
    data_dir: Path | None = None,
) -> CallbackRecord:
    """Give the callback a new time by hand (rescheduled), and tell the customer the new time once.

    `due_at` must be aware, not past and within the booking horizon; `data_dir` holds any
    override templates of the message.
    """
    row = _open_row(session, callback_id)
    reason_text = _required_text(reason, "reason")
    problem = time_problem(due_at, now)
    if problem is not None:
        raise InvalidInput(f"due_at: {problem}")
    if window_end is not None and window_end.utcoffset() is None:
        raise InvalidInput("window_end: has no UTC offset, so the moment is ambiguous; add one (+01:00, Z)")
    due_at = due_at.astimezone(UTC)
    window_end = None if window_end is None else window_end.astimezone(UTC)
    if window_end is not None and not (due_at < window_end <= due_at + MAX_WINDOW):
        hours = MAX_WINDOW // timedelta(hours=1)
        raise InvalidInput(f"window_end: must be after due_at and at most {hours} hours after it")
    if due_at == row.due_at and window_end == row.window_end:
        raise InvalidInput(f"due_at: callback #{callback_id} is already due then")
    before = _when(row)
    row.due_at, row.window_end = due_at, window_end
    row.state, row.rescheduled_at, row.confirmed_at = "rescheduled", now, None
    row.moves += 1
    data = {
        "from": before,
        "due_at": due_at.isoformat(),
        "window_end": _iso(window_end),
        "reason": reason_text,
    }
    _event(
        session,
        row,
        now=now,
        kind="moved",
        actor=by,
        text=f"moved from {before} to {_when(row)}: {reason_text}",
        data={**data, "moves": row.moves},
    )
    told = tell_new_time(session, plan=plan, callback=row, now=now, data_dir=data_dir)
    if told is None:
        _event(
            session,
            row,
            now=now,
            kind="not_told",
            actor=by,
            text="the customer has no phone or email the centre can message: tell them the new time by hand",
        )
    else:
        _event(
            session,
            row,
            now=now,
            kind="told",
            actor=by,
            text=f"the customer told the new time by {told.channel}",
            data={"message_id": told.id},
        )
    return record_of(row)


def complete_callback(
    session: Session, *, callback_id: int, notes: str | None = None, now: datetime, by: str
) -> CallbackRecord:
    """The call was made: the callback is completed (final)."""
    row = _open_row(session, callback_id)
    text = _optional_text(notes, "notes", MAX_NOTES)
    row.state, row.completed_at = "completed", now
    _event(
        session,
        row,
        now=now,
        kind="completed",
        actor=by,
        text=text or "the call was made",
        data={"notes": text},
    )
    return record_of(row)


def cancel_callback(
    session: Session, *, callback_id: int, reason: str, now: datetime, by: str
) -> CallbackRecord:
    """Withdraw the callback (final), with the reason in its history."""
    row = _open_row(session, callback_id)
    text = _required_text(reason, "reason")
    row.state = "cancelled"
    _event(
        session, row, now=now, kind="cancelled", actor=by, text=f"cancelled: {text}", data={"reason": text}
    )
    return record_of(row)


def _row(session: Session, callback_id: int) -> CallbackRow:
    row = session.get(CallbackRow, callback_id)
    if row is None:
        raise NotFound(f"no callback #{callback_id}")
    return row


def _open_row(session: Session, callback_id: int) -> CallbackRow:
    """The callback, locked against a concurrent action (PostgreSQL), refused when already final."""
    row = session.get(CallbackRow, callback_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no callback #{callback_id}")
    if row.state in FINAL:
        when = row.completed_at if row.state == "completed" else row.updated_at
        raise Conflict(
            f"callback #{callback_id} was {row.state} at {when.isoformat() if when else 'an unknown time'};"
            " it is final"
        )
    return row


def _required_text(value: str, what: str) -> str:
    text = _optional_text(value, what, MAX_REASON)
    if text is None:
        raise InvalidInput(f"{what}: required: say why")
    return text


def _optional_text(value: str | None, what: str, limit: int) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > limit:
        raise InvalidInput(f"{what}: too long: {len(text)} characters, at most {limit}")
    return text or None


def _event(
    session: Session,
    row: CallbackRow,
    *,
    now: datetime,
    kind: str,
    actor: str,
    text: str,
    data: dict[str, Any] | None = None,
) -> None:
    row.updated_at = now
    session.add(
        CallbackEventRow(callback_id=row.id, at=now, kind=kind, actor=actor, text=text, data=data or {})
    )
    session.flush()


def _when(row: CallbackRow) -> str:
    start = row.due_at.isoformat()
    return f"{start} to {row.window_end.isoformat()}" if row.window_end else start


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def record_of(row: CallbackRow) -> CallbackRecord:
    """The record of a stored callback."""
    return CallbackRecord(
        id=row.id,
        external_id=row.external_id,
        customer=row.customer,
        phone=row.phone,
        email=row.email,
        queue=row.queue,
        vulnerable=row.vulnerable,
        notes=row.notes,
        requested_due_at=row.requested_due_at,
        due_at=row.due_at,
        window_end=row.window_end,
        state=row.state,
        outage_id=row.outage_id,
        missed=row.missed,
        moves=row.moves,
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
