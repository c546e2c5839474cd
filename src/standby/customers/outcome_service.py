"""Outcomes logged while the CRM is down: stored once each, linked to their outage, exported for the CRM.

A service: functions take a Session and the time, and never commit. Storing is
idempotent by `client_id`: the agent's page resends whatever it has no answer for, so
an entry the server already holds is answered "duplicate" with the stored outcome, and
the same id with different content is refused (a page or script reusing ids). The
insert ignores a conflicting id instead of failing, so two resends racing each other
still leave one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.access.service import Principal
from standby.customers.outcome_records import (
    OutcomeInput,
    OutcomeRecord,
    check_outcome,
    export_csv,
)
from standby.intake import Row, RowProblem
from standby.plan.schema import Plan
from standby.store.tables import OutageRow, OutcomeRow

Status = Literal["stored", "duplicate", "refused"]
MAX_LIST = 1000
MAX_EXPORT = 100_000


@dataclass(frozen=True)
class ItemResult:
    """What became of one item: stored now, already stored (a resend), or refused with its problems."""

    row: int
    status: Status
    client_id: str | None
    record: OutcomeRecord | None = None
    problems: tuple[RowProblem, ...] = ()


@dataclass(frozen=True)
class LogResult:
    """What became of every item of a request, in row order."""

    items: list[ItemResult]

    def count(self, status: Status) -> int:
        """How many items ended as `status`."""
        return sum(1 for i in self.items if i.status == status)

    @property
    def problems(self) -> list[RowProblem]:
        """Every problem of the refused items, in row order."""
        return sorted(p for i in self.items for p in i.problems)


@dataclass(frozen=True)
class OutcomeFilter:
    """Which outcomes to list or export; None (or False) means no condition."""

    since: datetime | None = None
    until: datetime | None = None
    queue: str | None = None
    follow_up: bool | None = None
    outage_id: int | None = None
    agent: str | None = None
    not_exported: bool = False


@dataclass
class _Batch:
    """The entries of a request keyed by client id; later items with the same id are answered after."""

    first: dict[str, OutcomeInput] = field(default_factory=dict)
    repeats: list[OutcomeInput] = field(default_factory=list)


def log_outcomes(
    session: Session,
    *,
    plan: Plan,
    rows: Sequence[Row],
    now: datetime,
    by: Principal,
    unreadable: Iterable[RowProblem] = (),
) -> LogResult:
    """Check and store each outcome; bad ones are refused with their problems, the rest stored.

    `unreadable` are problems of items that could not be read at all (not an object, an
    unknown field): they are answered as refused beside the others. The page's own
    requests (a person logged in) must carry a `client_id`; a script's may omit it.
    """
    results: dict[int, ItemResult] = {}
    for problem in unreadable:
        earlier = results.get(problem.row)
        joined = (*(earlier.problems if earlier else ()), problem)
        results[problem.row] = ItemResult(problem.row, "refused", None, problems=joined)
    batch = _Batch()
    queues = [q.id for q in plan.queues]
    for number, values in rows:
        entry, problems = check_outcome(
            number,
            values,
            queues=queues,
            agent=by.name,
            now=now,
            country=plan.organisation.country,
            client_id_required=by.kind == "user",
        )
        if entry is None:
            results[number] = ItemResult(number, "refused", _given_id(values), problems=tuple(problems))
        elif entry.client_id in batch.first:
            batch.repeats.append(entry)
        else:
            batch.first[entry.client_id] = entry
    stored = _insert(session, list(batch.first.values()), now=now, received_by=by.signed)
    held = _by_client_id(session, batch.first)
    for entry in [*batch.first.values(), *batch.repeats]:
        record = held[entry.client_id]
        fresh = entry.client_id in stored and batch.first[entry.client_id] is entry
        results[entry.row] = _answer(entry, record, fresh=fresh)
    return LogResult([results[n] for n in sorted(results)])


def _given_id(values: Any) -> str | None:
    value = values.get("client_id")
    return value.strip()[:64] if isinstance(value, str) and value.strip() else None


def _answer(entry: OutcomeInput, record: OutcomeRecord, *, fresh: bool) -> ItemResult:
    if fresh:
        return ItemResult(entry.row, "stored", entry.client_id, record)
    if record.matches(entry):
        return ItemResult(entry.row, "duplicate", entry.client_id, record)
    conflict = RowProblem(
        entry.row,
        "client_id",
        f"{entry.client_id!r} is already used by another outcome (customer {record.customer!r},"
        f" logged at {record.logged_at:%Y-%m-%dT%H:%M:%SZ}); give each outcome its own id",
    )
    return ItemResult(entry.row, "refused", entry.client_id, problems=(conflict,))


def _insert(session: Session, entries: list[OutcomeInput], *, now: datetime, received_by: str) -> set[str]:
    """Insert the entries whose client id is new; the client ids actually inserted."""
    if not entries:
        return set()
    outages = _outages_around(session, [e.logged_at for e in entries])
    values = [
        {
            "client_id": e.client_id,
            "customer": e.customer,
            "phone": e.phone,
            "customer_key": e.phone,
            "queue": e.queue,
            "reason": e.reason,
            "outcome": e.outcome,
            "follow_up": e.follow_up,
            "agent": e.agent,
            "logged_at": e.logged_at,
            "call_id": e.call_id,
            "outage_id": outage_for(outages, e.logged_at, e.queue),
            "received_at": now,
            "received_by": received_by,
            "exported_at": None,
        }
        for e in entries
    ]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(OutcomeRow)
        .on_conflict_do_nothing(index_elements=["client_id"])
        .returning(OutcomeRow.client_id)
    )
    return set(session.scalars(statement, values))


def _by_client_id(session: Session, ids: Iterable[str]) -> dict[str, OutcomeRecord]:
    wanted = list(ids)
    found: dict[str, OutcomeRecord] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in session.scalars(select(OutcomeRow).where(OutcomeRow.client_id.in_(chunk))):
            found[row.client_id] = _record(row)
    return found


def _outages_around(session: Session, moments: Sequence[datetime]) -> list[OutageRow]:
    """The outages whose time overlaps the span of `moments`."""
    first, last = min(moments), max(moments)
    query = select(OutageRow).where(
        OutageRow.started_at <= last, or_(OutageRow.ended_at.is_(None), OutageRow.ended_at >= first)
    )
    return list(session.scalars(query))


def outage_for(outages: Sequence[OutageRow], moment: datetime, queue: str) -> int | None:
    """The outage an outcome logged at `moment` on `queue` belongs to, or None.

    Of the outages going on at that moment: one that hit the queue (lost or slowed)
    first, then one still standing on its own (not merged into another), then the latest.
    """
    current = [o for o in outages if o.started_at <= moment and (o.ended_at is None or moment <= o.ended_at)]
    if not current:
        return None

    def preference(o: OutageRow) -> tuple[bool, bool, datetime, int]:
        return (queue in o.queues or queue in o.degraded_queues, o.merged_into is None, o.started_at, o.id)

    return max(current, key=preference).id


def _record(row: OutcomeRow) -> OutcomeRecord:
    return OutcomeRecord(
        id=row.id,
        client_id=row.client_id,
        customer=row.customer,
        phone=row.phone,
        queue=row.queue,
        reason=row.reason,
        outcome=row.outcome,
        follow_up=row.follow_up,
        agent=row.agent,
        logged_at=row.logged_at,
        call_id=row.call_id,
        outage_id=row.outage_id,
        received_at=row.received_at,
        received_by=row.received_by,
        exported_at=row.exported_at,
    )


def _filtered(query: Select[OutcomeRow], which: OutcomeFilter) -> Select[OutcomeRow]:
    if which.since is not None:
        query = query.where(OutcomeRow.logged_at >= which.since)
    if which.until is not None:
        query = query.where(OutcomeRow.logged_at < which.until)
    if which.queue is not None:
        query = query.where(OutcomeRow.queue == which.queue)
    if which.follow_up is not None:
        query = query.where(OutcomeRow.follow_up.is_(which.follow_up))
    if which.outage_id is not None:
        query = query.where(OutcomeRow.outage_id == which.outage_id)
    if which.agent is not None:
        query = query.where(OutcomeRow.agent == which.agent)
    if which.not_exported:
        query = query.where(OutcomeRow.exported_at.is_(None))
    return query


def list_outcomes(
    session: Session, which: OutcomeFilter = OutcomeFilter(), *, limit: int = 100, before: int | None = None
) -> list[OutcomeRecord]:
    """Outcomes matching `which`, newest first; `before` (an id) pages back."""
    query = _filtered(select(OutcomeRow), which).order_by(OutcomeRow.id.desc()).limit(min(limit, MAX_LIST))
    if before is not None:
        query = query.where(OutcomeRow.id < before)
    return [_record(r) for r in session.scalars(query)]


def export_outcomes(
    session: Session,
    which: OutcomeFilter = OutcomeFilter(),
    *,
    now: datetime,
    limit: int = MAX_EXPORT,
    mark_exported: bool = False,
) -> tuple[str, list[OutcomeRecord]]:
    """The outcomes matching `which` as CSV, in the order they were logged, and the records.

    With `mark_exported`, those not exported before get `exported_at` = now (a later
    export with `not_exported` leaves them out); one exported before keeps its first time.
    """
    query = (
        _filtered(select(OutcomeRow), which)
        .order_by(OutcomeRow.logged_at, OutcomeRow.id)
        .limit(min(limit, MAX_EXPORT))
    )
    records = [_record(r) for r in session.scalars(query)]
    if mark_exported:
        mark_as_exported(session, records, now=now)
    return export_csv(records), records


def mark_as_exported(session: Session, records: Sequence[OutcomeRecord], *, now: datetime) -> None:
    """Set `exported_at` = now on those of `records` no export has marked yet."""
    ids = [r.id for r in records if r.exported_at is None]
    for start in range(0, len(ids), 1000):
        session.execute(
            update(OutcomeRow)
            .where(OutcomeRow.id.in_(ids[start : start + 1000]), OutcomeRow.exported_at.is_(None))
            .values(exported_at=now)
        )


@dataclass(frozen=True)
class ExportReceipt:
    """What marking outcomes exported by their client ids did."""

    marked: int
    already: int
    unknown: list[str]


def mark_exported_by_client_id(
    session: Session, client_ids: Sequence[str], *, now: datetime
) -> ExportReceipt:
    """Mark the outcomes the CRM confirms it has (by the client_id column of the export) exported.

    The safe half of an export: marked only once the file reached the CRM, so a download
    lost on the way marks nothing. Those marked before keep their first time; ids Standby
    does not hold are returned, not refused (the CRM may hold outcomes from elsewhere).
    """
    wanted = list(dict.fromkeys(client_ids))
    known: dict[str, datetime | None] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        rows = session.execute(
            select(OutcomeRow.client_id, OutcomeRow.exported_at).where(OutcomeRow.client_id.in_(chunk))
        )
        known.update({client_id: exported_at for client_id, exported_at in rows})
    fresh = [c for c in wanted if c in known and known[c] is None]
    for start in range(0, len(fresh), 1000):
        session.execute(
            update(OutcomeRow)
            .where(OutcomeRow.client_id.in_(fresh[start : start + 1000]), OutcomeRow.exported_at.is_(None))
            .values(exported_at=now)
        )
    return ExportReceipt(
        marked=len(fresh),
        already=sum(1 for c in wanted if known.get(c) is not None),
        unknown=[c for c in wanted if c not in known],
    )
