"""Calls cut off: recording what the telephony platform reports, the follow-up worklist, and
working each call to an outcome.

A service: functions take a Session and the time and never commit. A call is linked to
the outage that cut it off (see `call_records.cutting_outage`) when it is recorded, or
later by `link_to_outages` in the response pass: the platform often reports dropped
calls before Standby has confirmed the outage. Until then it is cut off when reported.
A call_id already recorded is refused with the call it duplicates, so a platform that
sends the same call twice makes one follow-up, not two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.customers.call_records import (
    CallInput,
    OutageSpan,
    check_calls,
    closes,
    cutting_outage,
)
from standby.errors import Conflict, InvalidInput, NotFound
from standby.intake import RowProblem
from standby.plan.schema import Plan
from standby.store.tables import InterruptedCallRow, OutageRow
from standby.store.tables.customers import SOURCES

CHUNK = 5000
MAX_NOTES = 2000
MAX_LIST = 1000
LINK_WITHIN = timedelta(days=1)
"""Calls reported this recently and still unlinked are looked at again by each response pass."""


@dataclass(frozen=True)
class CallImport:
    """What an import recorded and what it refused."""

    ids: list[int]
    refused: list[RowProblem]

    @property
    def imported(self) -> int:
        """How many calls were recorded."""
        return len(self.ids)


@dataclass(frozen=True)
class CallRecord:
    """A call cut off, on the follow-up worklist until it is worked to an outcome."""

    id: int
    call_id: str
    customer: str
    phone: str
    queue: str
    agent: str | None
    vulnerable: bool
    started_at: datetime
    cut_at: datetime
    outage_id: int | None
    state: str
    outcome: str | None
    notes: str | None
    worked_by: str | None
    worked_at: datetime | None
    source: str
    created_by: str
    created_at: datetime

    @property
    def seconds_into_call(self) -> float:
        """How long the customer had been on the call when it was cut off."""
        return max(0.0, (self.cut_at - self.started_at).total_seconds())


def import_calls(
    session: Session,
    *,
    plan: Plan,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    now: datetime,
    by: str,
    source: str,
    unread: Sequence[RowProblem] = (),
) -> CallImport:
    """Record every good row, linked to the outage that cut it off when one is known; refuse the rest."""
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    checked = check_calls(rows, plan=plan, now=now)
    refused = [*unread, *checked.problems]
    if not rows and not unread:
        refused.append(RowProblem(0, None, "no calls in the import"))
    spans = _outage_spans(session, since=min((c.started_at for c in checked.valid), default=now))
    ids: list[int] = []
    for start in range(0, len(checked.valid), CHUNK):
        chunk = checked.valid[start : start + CHUNK]
        recorded, duplicates = _record(session, chunk, spans, now=now, by=by, source=source)
        ids += recorded
        refused += duplicates
    return CallImport(ids=ids, refused=sorted(refused))


def _record(
    session: Session,
    chunk: Sequence[CallInput],
    spans: Sequence[OutageSpan],
    *,
    now: datetime,
    by: str,
    source: str,
) -> tuple[list[int], list[RowProblem]]:
    table: Table = InterruptedCallRow.__table__  # type: ignore[assignment]
    values = []
    for call in chunk:
        outage = cutting_outage(call.started_at, call.queue, spans)
        values.append(
            {
                "call_id": call.call_id,
                "customer": call.customer,
                "phone": call.phone,
                "customer_key": call.phone,
                "queue": call.queue,
                "agent": call.agent,
                "vulnerable": call.vulnerable,
                "started_at": call.started_at,
                "cut_at": outage.started_at if outage is not None else max(now, call.started_at),
                "outage_id": outage.id if outage is not None else None,
                "state": "open",
                "source": source,
                "created_by": by,
                "created_at": now,
                "updated_at": now,
            }
        )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing().returning(table.c.id, table.c.call_id)
    recorded = {call_id: row_id for row_id, call_id in session.execute(statement, values)}
    left = [c for c in chunk if c.call_id not in recorded]
    problems: list[RowProblem] = []
    if left:
        # A Result has keys(), so dict() would take it for a mapping: pair the rows up by hand.
        existing: dict[str, int] = {
            call_id: row_id
            for call_id, row_id in session.execute(
                select(InterruptedCallRow.call_id, InterruptedCallRow.id).where(
                    InterruptedCallRow.call_id.in_([c.call_id for c in left])
                )
            )
        }
        for call in left:
            problems.append(
                RowProblem(
                    call.row, "call_id", f"already recorded as call #{existing.get(call.call_id, '?')}"
                )
            )
    return [recorded[c.call_id] for c in chunk if c.call_id in recorded], problems


def _outage_spans(session: Session, *, since: datetime) -> list[OutageSpan]:
    """Outages that may have cut off calls begun from `since`: not merged away, started after it."""
    query = select(OutageRow.id, OutageRow.started_at, OutageRow.history, OutageRow.queues).where(
        OutageRow.merged_into.is_(None), OutageRow.started_at >= since, OutageRow.exercise_id.is_(None)
    )
    spans = []
    for outage_id, started_at, history, queues in session.execute(query):
        ever = set((history or {}).get("queues", [])) | set(queues or [])
        spans.append(OutageSpan(outage_id, started_at, frozenset(ever)))
    return spans


def link_to_outages(session: Session, *, now: datetime) -> int:
    """Link the recently reported calls not yet linked to the outage that cut them off; how many were.

    Cheap when there is nothing to do: one indexed query for unlinked open calls.
    """
    unlinked = list(
        session.execute(
            select(InterruptedCallRow.id, InterruptedCallRow.started_at, InterruptedCallRow.queue).where(
                InterruptedCallRow.outage_id.is_(None),
                InterruptedCallRow.created_at >= now - LINK_WITHIN,
            )
        )
    )
    if not unlinked:
        return 0
    spans = _outage_spans(session, since=min(started for _, started, _ in unlinked))
    links = []
    for row_id, started_at, queue in unlinked:
        outage = cutting_outage(started_at, queue, spans)
        if outage is not None:
            links.append({"row_id": row_id, "outage_id": outage.id, "cut_at": outage.started_at, "now": now})
    if links:
        table: Table = InterruptedCallRow.__table__  # type: ignore[assignment]
        session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                outage_id=bindparam("outage_id"), cut_at=bindparam("cut_at"), updated_at=bindparam("now")
            ),
            links,
        )
    return len(links)


@dataclass(frozen=True)
class CallFilter:
    """Which calls to list; None means no condition."""

    state: str | None = None
    queue: str | None = None
    outage_id: int | None = None
    agent: str | None = None
    vulnerable: bool | None = None


def list_calls(
    session: Session, *, where: CallFilter | None = None, offset: int = 0, limit: int = 100
) -> list[CallRecord]:
    """The worklist: open calls first, vulnerable customers first, then the earliest cut off."""
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be from 1 to {MAX_LIST}, not {limit}")
    if offset < 0:
        raise InvalidInput(f"offset must be 0 or more, not {offset}")
    query = select(InterruptedCallRow)
    where = where or CallFilter()
    if where.state is not None:
        query = query.where(InterruptedCallRow.state == where.state)
    if where.queue is not None:
        query = query.where(InterruptedCallRow.queue == where.queue)
    if where.outage_id is not None:
        query = query.where(InterruptedCallRow.outage_id == where.outage_id)
    if where.agent is not None:
        query = query.where(InterruptedCallRow.agent == where.agent)
    if where.vulnerable is not None:
        query = query.where(InterruptedCallRow.vulnerable.is_(where.vulnerable))
    query = query.order_by(
        (InterruptedCallRow.state == "worked"),
        InterruptedCallRow.vulnerable.desc(),
        InterruptedCallRow.cut_at,
        InterruptedCallRow.id,
    )
    return [record_of(row) for row in session.scalars(query.offset(offset).limit(limit))]


def count_calls(session: Session, *, outage_id: int | None = None) -> dict[str, int]:
    """How many calls are open and worked (of one outage, or all)."""
    query = select(InterruptedCallRow.state, func.count()).group_by(InterruptedCallRow.state)
    if outage_id is not None:
        query = query.where(InterruptedCallRow.outage_id == outage_id)
    counts = {"open": 0, "worked": 0}
    counts.update({state: count for state, count in session.execute(query)})
    return counts


def get_call(session: Session, call_id: int) -> CallRecord:
    """One call by its number; NotFound when there is none."""
    row = session.get(InterruptedCallRow, call_id)
    if row is None:
        raise NotFound(f"no call #{call_id}")
    return record_of(row)


def work_call(
    session: Session, *, call_id: int, outcome: str, notes: str | None, now: datetime, by: str
) -> CallRecord:
    """Record an attempt at a call's follow-up; a closing outcome takes it off the worklist.

    A call already worked to a closing outcome is not worked again (Conflict): its
    outcome is the record the CRM will take.
    """
    try:
        final = closes(outcome)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if notes is not None and len(notes) > MAX_NOTES:
        raise InvalidInput(f"the notes are too long: {len(notes)} characters, at most {MAX_NOTES}")
    row = session.get(InterruptedCallRow, call_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no call #{call_id}")
    if row.state == "worked":
        raise Conflict(
            f"call #{call_id} was already worked to {row.outcome!r} by {row.worked_by}"
            f" at {row.worked_at.isoformat() if row.worked_at else '?'}"
        )
    row.outcome = outcome
    row.notes = notes.strip() if notes and notes.strip() else row.notes
    row.worked_by = by
    row.worked_at = now
    row.state = "worked" if final else "open"
    row.updated_at = now
    session.flush()
    return record_of(row)


def record_of(row: InterruptedCallRow) -> CallRecord:
    """The frozen record of a row."""
    return CallRecord(
        id=row.id,
        call_id=row.call_id,
        customer=row.customer,
        phone=row.phone,
        queue=row.queue,
        agent=row.agent,
        vulnerable=row.vulnerable,
        started_at=row.started_at,
        cut_at=row.cut_at,
        outage_id=row.outage_id,
        state=row.state,
        outcome=row.outcome,
        notes=row.notes,
        worked_by=row.worked_by,
        worked_at=row.worked_at,
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
    )
