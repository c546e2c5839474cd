"""Compensation as a service: the plan's rules applied to ended outages, offers and their fate.

Which outages. Rules apply once an outage has ended (its length is known), to outages
that ended within the last week (`RECENT`); older ones only when asked (`apply_now`).
An outage merged into another is worked out with the one it was merged into, whose
customers are then the customers of both: one customer, one offer per rule. Outages
inside a maintenance window count too: planned work harms customers just the same, and
every offer starts as `offered`, for a manager to decline.

Idempotent: one offer per (outage, rule, customer) however often the rules run, from
however many workers (a unique key and INSERT .. ON CONFLICT DO NOTHING). Offers are
never withdrawn by a later plan: a rule removed keeps the offers it made.

Cheap when nothing changed: the response pass calls `apply_rules` every few seconds,
so each outage's inputs (the count and newest entry of its callbacks' history, the count,
newest ids and change times of its cut-off calls, its end, the rules) are summed up in
two aggregate queries and compared with what this process saw last time (`Memo`); only
a change loads the customers.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from standby.customers.caught import caught_callbacks, history_fingerprint, missed_callbacks
from standby.customers.compensation import (
    Amount,
    OutageFacts,
    Totals,
    Touch,
    affected_customers,
    offer_move_problem,
    offers_for,
)
from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.schema import Plan
from standby.store.tables import OutageRow
from standby.store.tables.customers import (
    OFFER_STATES,
    CallbackEventRow,
    CallbackRow,
    CompensationOfferRow,
    InterruptedCallRow,
)

RECENT = timedelta(days=7)
"""Outages that ended this long ago or less get their offers by themselves."""
_CHUNK = 5000
_T = CompensationOfferRow
_TABLE: Table = CompensationOfferRow.__table__  # type: ignore[assignment]


class Memo:
    """What this process last saw of each outage's inputs, so an unchanged outage is skipped.

    Only a shortcut: forgetting (a restart, another worker) costs one recomputation,
    never a wrong or a repeated offer, since the unique key decides.
    """

    def __init__(self, size: int = 1000) -> None:
        """A memo of at most `size` outages (the oldest forgotten first)."""
        self._size = size
        self._seen: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def same(self, key: tuple[str, int], fingerprint: Any) -> bool:
        """Whether `fingerprint` is what was remembered under `key`."""
        with self._lock:
            return bool(self._seen.get(key) == fingerprint)

    def last(self, key: tuple[str, int]) -> Any:
        """What was remembered under `key`, or None."""
        with self._lock:
            return self._seen.get(key)

    def remember(self, key: tuple[str, int], fingerprint: Any) -> None:
        """Remember `fingerprint` under `key`."""
        with self._lock:
            self._seen.pop(key, None)
            self._seen[key] = fingerprint
            while len(self._seen) > self._size:
                self._seen.pop(next(iter(self._seen)))

    def clear(self) -> None:
        """Forget everything (the database it described was emptied)."""
        with self._lock:
            self._seen.clear()

    def remember_on_commit(self, session: Session, key: tuple[str, int], fingerprint: Any) -> None:
        """Remember `fingerprint` once the session's transaction commits; forget it on rollback.

        Remembering before the commit would skip an outage whose offers were rolled back.
        """
        pending: list[tuple[Memo, tuple[str, int], Any]] = session.info.setdefault(_PENDING, [])
        if not session.info.get(_LISTENING):
            event.listen(session, "after_commit", _commit_pending)
            event.listen(session, "after_rollback", _drop_pending)
            session.info[_LISTENING] = True
        pending.append((self, key, fingerprint))


_PENDING = "standby.memo.pending"
_LISTENING = "standby.memo.listening"


def _commit_pending(session: Session) -> None:
    for memo, key, fingerprint in session.info.pop(_PENDING, []):
        memo.remember(key, fingerprint)


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


PROCESS_MEMO = Memo()
"""The memo `apply_rules` uses unless given one: one per process, like a connection pool."""


@dataclass(frozen=True)
class OfferRecord:
    """A compensation offer as the API shows it."""

    id: int
    outage_id: int
    rule: str
    customer_key: str
    customer: str
    phone: str
    email: str | None
    queue: str | None
    vulnerable: bool
    reason: str
    kind: str
    amount_minor: int
    currency: str
    state: str
    created_at: datetime
    updated_at: datetime
    updated_by: str | None


def _record(row: CompensationOfferRow) -> OfferRecord:
    return OfferRecord(
        id=row.id,
        outage_id=row.outage_id,
        rule=row.rule,
        customer_key=row.customer_key,
        customer=row.customer,
        phone=row.phone,
        email=row.email,
        queue=row.queue,
        vulnerable=row.vulnerable,
        reason=row.reason,
        kind=row.kind,
        amount_minor=row.amount_minor,
        currency=row.currency,
        state=row.state,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


# ---- which outages and customers ---------------------------------------------------------


def merged_family(session: Session, outage_id: int) -> list[int]:
    """The outage and every outage merged into it (directly or through another), itself first."""
    family = [outage_id]
    frontier = [outage_id]
    while frontier:
        found = session.scalars(select(OutageRow.id).where(OutageRow.merged_into.in_(frontier))).all()
        frontier = [i for i in found if i not in family]
        family.extend(frontier)
    return family


def outage_facts(session: Session, family: Sequence[int]) -> OutageFacts | None:
    """The family's facts (earliest start, the survivor's end, every queue stopped); None while open."""
    rows = {r.id: r for r in session.scalars(select(OutageRow).where(OutageRow.id.in_(family)))}
    survivor = rows[family[0]]
    if survivor.ended_at is None:
        return None
    stopped: set[str] = set()
    for row in rows.values():
        stopped.update(row.queues)
        stopped.update((row.history or {}).get("queues", ()))
    return OutageFacts(
        id=survivor.id,
        started_at=min(r.started_at for r in rows.values()),
        ended_at=survivor.ended_at,
        stopped_queues=frozenset(stopped),
    )


def _touches(session: Session, family: Sequence[int], facts: OutageFacts) -> list[Touch]:
    cb, call = CallbackRow, InterruptedCallRow
    missed = set(session.scalars(missed_callbacks(family)))
    due_when_flagged = _due_when_flagged(session, family)
    # From the callbacks' history: a callback a later outage hit again is still this one's.
    callbacks = select(
        cb.id, cb.customer_key, cb.customer, cb.phone, cb.email, cb.queue, cb.vulnerable,
        cb.requested_due_at,
    ).where(cb.id.in_(caught_callbacks(family)))  # fmt: skip
    touches = [
        Touch(
            key,
            name,
            phone,
            email,
            queue,
            flag,
            due_when_flagged.get(callback_id, requested) if callback_id in missed else None,
        )
        for callback_id, key, name, phone, email, queue, flag, requested in session.execute(callbacks)
    ]
    calls = select(call.customer_key, call.customer, call.phone, call.queue, call.vulnerable).where(
        call.outage_id.in_(family)
    )
    touches.extend(
        Touch(key, name, phone, None, queue, flag) for key, name, phone, queue, flag in session.execute(calls)
    )
    return touches


def _due_when_flagged(session: Session, family: Sequence[int]) -> dict[int, datetime]:
    """The time each callback was due when the outages of `family` flagged it (the time it missed)."""
    found: dict[int, datetime] = {}
    events = (
        select(CallbackEventRow.callback_id, CallbackEventRow.data)
        .where(CallbackEventRow.outage_id.in_(family), CallbackEventRow.kind == "flagged")
        .order_by(CallbackEventRow.id)
    )
    for callback_id, data in session.execute(events):  # the latest flagging wins
        due = data.get("due_at") if isinstance(data, dict) else None
        if isinstance(due, str):
            found[callback_id] = datetime.fromisoformat(due)
    return found


def _fingerprint(session: Session, family: Sequence[int], facts: OutageFacts, rules: str) -> tuple[Any, ...]:
    call = InterruptedCallRow
    callbacks = session.execute(history_fingerprint(family)).one()
    calls = session.execute(
        select(func.count(), func.max(call.id), func.max(call.updated_at)).where(call.outage_id.in_(family))
    ).one()
    return (tuple(family), facts.started_at, facts.ended_at, tuple(callbacks), tuple(calls), rules)


def _rules_digest(plan: Plan) -> str:
    """What of the plan the offers depend on, as one short text."""
    text = json.dumps(
        [
            [rule.model_dump(mode="json") for rule in plan.compensation],
            plan.organisation.currency,
            plan.organisation.timezone,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


# ---- applying the rules ---------------------------------------------------------------------


def apply_rules(session: Session, *, plan: Plan, now: datetime, memo: Memo | None = None) -> int:
    """Make the missing offers for outages that ended within `RECENT`; how many were made."""
    if not plan.compensation:
        return 0
    outage_ids = session.scalars(
        select(OutageRow.id)
        .where(
            OutageRow.ended_at.is_not(None),
            OutageRow.ended_at >= now - RECENT,
            OutageRow.merged_into.is_(None),
            OutageRow.exercise_id.is_(None),  # an exercise harms no customer
        )
        .order_by(OutageRow.id)
    ).all()
    digest = _rules_digest(plan)
    place = session.get_bind().engine.url.render_as_string(hide_password=True)
    memo = PROCESS_MEMO if memo is None else memo
    made = 0
    for outage_id in outage_ids:
        family = merged_family(session, outage_id)
        facts = outage_facts(session, family)
        if facts is None:
            continue
        fingerprint = _fingerprint(session, family, facts, digest)
        if memo.same((place, outage_id), fingerprint):
            continue
        made += _make_offers(session, family, facts, plan, now)
        memo.remember_on_commit(session, (place, outage_id), fingerprint)
    return made


def apply_now(session: Session, *, outage_id: int, plan: Plan, now: datetime) -> int:
    """Make the missing offers for one ended outage, however long ago it ended; how many were made.

    NotFound for an unknown outage; Conflict for one still going on, or merged into another
    (whose offers cover it).
    """
    row = session.get(OutageRow, outage_id)
    if row is None:
        raise NotFound(f"no outage {outage_id}")
    if row.merged_into is not None:
        raise Conflict(
            f"outage {outage_id} was merged into outage {row.merged_into}: its customers are"
            f" compensated under that outage"
        )
    family = merged_family(session, outage_id)
    facts = outage_facts(session, family)
    if facts is None:
        raise Conflict(f"outage {outage_id} has not ended: compensation is worked out once it is over")
    return _make_offers(session, family, facts, plan, now)


def _make_offers(
    session: Session, family: Sequence[int], facts: OutageFacts, plan: Plan, now: datetime
) -> int:
    if not plan.compensation:
        return 0
    customers = affected_customers(_touches(session, family, facts))
    offers = offers_for(
        facts,
        customers,
        plan.compensation,
        currency=plan.organisation.currency,
        zone=ZoneInfo(plan.organisation.timezone),
    )
    existing = {
        (rule, key)
        for rule, key in session.execute(select(_T.rule, _T.customer_key).where(_T.outage_id == facts.id))
    }
    fixed = {"state": "offered", "created_at": now, "updated_at": now, "updated_by": None}
    rows = [{**o._asdict(), **fixed} for o in offers if (o.rule, o.customer_key) not in existing]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # The table, not the ORM class: a plain executemany, many times faster for 100,000 rows
    # (RETURNING, to count what was made, is slower still on PostgreSQL).
    statement = insert(_TABLE).on_conflict_do_nothing(index_elements=["outage_id", "rule", "customer_key"])
    for start in range(0, len(rows), _CHUNK):
        session.execute(statement, rows[start : start + _CHUNK])
    # Another worker may have made some of them meanwhile: count what is there now.
    stored = session.scalar(select(func.count()).select_from(_T).where(_T.outage_id == facts.id))
    return int(stored or 0) - len(existing)


# ---- offers: reading and moving on --------------------------------------------------------------


def get_offer(session: Session, offer_id: int) -> OfferRecord:
    """One offer; NotFound when there is none with that id."""
    row = session.get(_T, offer_id)
    if row is None:
        raise NotFound(f"no compensation offer {offer_id}")
    return _record(row)


def list_offers(
    session: Session,
    *,
    outage_id: int | None = None,
    state: str | None = None,
    customer_key: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[OfferRecord]:
    """Offers, newest first, filtered by outage, state and customer."""
    if state is not None and state not in OFFER_STATES:
        raise InvalidInput(f"unknown offer state {state!r}: use one of {', '.join(OFFER_STATES)}")
    query = select(_T).order_by(_T.id.desc()).limit(limit)
    if outage_id is not None:
        query = query.where(_T.outage_id == outage_id)
    if state is not None:
        query = query.where(_T.state == state)
    if customer_key is not None:
        query = query.where(_T.customer_key == customer_key)
    if before_id is not None:
        query = query.where(_T.id < before_id)
    return [_record(r) for r in session.scalars(query)]


def move_offer(session: Session, *, offer_id: int, state: str, by: str, now: datetime) -> OfferRecord:
    """Record the customer's answer or the payment: offered -> accepted, declined or paid; accepted -> paid.

    Asking again for the state it is in changes nothing (a retried request); any other
    move is a Conflict that says why.
    """
    if state not in OFFER_STATES or state == "offered":
        raise InvalidInput(f"an offer can become accepted, declined or paid, not {state!r}")
    row = session.scalars(select(_T).where(_T.id == offer_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no compensation offer {offer_id}")
    problem = offer_move_problem(offer_id, row.state, state)
    if problem is not None:
        raise Conflict(problem)
    if row.state != state:
        row.state, row.updated_at, row.updated_by = state, now, by[:100]
    return _record(row)


# ---- totals ------------------------------------------------------------------------------------


def totals(session: Session, *, outage_id: int | None = None) -> list[Totals]:
    """Offers counted and summed per currency and state (one outage's, or all); no personal data."""
    query = select(_T.currency, _T.state, func.count(), func.sum(_T.amount_minor)).group_by(
        _T.currency, _T.state
    )
    if outage_id is not None:
        query = query.where(_T.outage_id == outage_id)
    grouped: dict[str, dict[str, Amount]] = {}
    for currency, state, count, amount in session.execute(query):
        grouped.setdefault(currency, {})[state] = Amount(int(count), int(amount or 0))
    found = []
    for currency in sorted(grouped):
        by_state = {s: grouped[currency].get(s, Amount()) for s in OFFER_STATES}
        total = Amount(
            sum(a.count for a in by_state.values()), sum(a.amount_minor for a in by_state.values())
        )
        found.append(Totals(currency=currency, total=total, by_state=by_state))
    return found
