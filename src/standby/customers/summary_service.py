"""The commander's figures for an outage's customers, counted in the database, and put on
the incident's timeline as they change.

An outage merged into another counts with the one it was merged into (as compensation
does): its customers are that outage's customers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import case, func, or_, select, union
from sqlalchemy.orm import Session

from standby.customers.caught import callbacks_by_kind, caught_callbacks, missed_callbacks
from standby.customers.compensation_service import Memo, merged_family, totals
from standby.customers.summary import CustomerFigures, headline
from standby.errors import NotFound
from standby.respond.timeline import SYSTEM, add_entry
from standby.store.tables import IncidentRow, OutageRow, TimelineRow
from standby.store.tables.customers import CallbackRow, InterruptedCallRow, OutcomeRow

EVERY = timedelta(minutes=5)
"""The least time between two entries of the figures on one timeline (the final one excepted)."""
FOLLOW_AFTER_END = timedelta(days=1)
"""How long after its end an outage's figures still go on the timeline as they change."""
KIND: Final = "customers"
TIMELINE_MEMO = Memo()
"""When this process last counted each incident's figures (see `record_on_timeline`)."""


def customer_summary(session: Session, *, outage_id: int) -> CustomerFigures:
    """The outage's customers in numbers; NotFound for an unknown outage."""
    if session.get(OutageRow, outage_id) is None:
        raise NotFound(f"no outage {outage_id}")
    return _figures(session, outage_id, merged_family(session, outage_id))


def _figures(session: Session, outage_id: int, family: list[int]) -> CustomerFigures:
    cb, call, outcome = CallbackRow, InterruptedCallRow, OutcomeRow
    caught = caught_callbacks(family).subquery()
    missed = missed_callbacks(family).subquery()
    rescheduled = callbacks_by_kind(family, ("rescheduled",)).subquery()

    def distinct_customers(vulnerable_only: bool) -> int:
        callbacks = select(cb.customer_key).where(cb.id.in_(select(caught.c.callback_id)))
        calls = select(call.customer_key).where(call.outage_id.in_(family))
        if vulnerable_only:
            callbacks, calls = callbacks.where(cb.vulnerable), calls.where(call.vulnerable)
        keys = union(callbacks, calls).subquery()
        return int(session.scalar(select(func.count()).select_from(keys)) or 0)

    # From the callbacks' history, not their outage_id: a callback a later outage hit again
    # still counts here. States (confirmed, completed...) are where each one is now.
    callbacks = {"flagged": 0, "missed": 0, "rescheduled": 0}
    for state, count, was_missed, was_rescheduled in session.execute(
        select(
            cb.state,
            func.count(),
            func.sum(case((missed.c.callback_id.is_not(None), 1), else_=0)),
            func.sum(case((rescheduled.c.callback_id.is_not(None), 1), else_=0)),
        )
        .join(caught, caught.c.callback_id == cb.id)
        .outerjoin(missed, missed.c.callback_id == cb.id)
        .outerjoin(rescheduled, rescheduled.c.callback_id == cb.id)
        .group_by(cb.state)
    ):
        callbacks["flagged"] += count
        callbacks["missed"] += int(was_missed or 0)
        callbacks["rescheduled"] += int(was_rescheduled or 0)
        if state in ("unplaced", "confirmed", "completed", "cancelled"):
            callbacks[state] = count
    by_state: dict[str, int] = {
        state: count
        for state, count in session.execute(
            select(call.state, func.count()).where(call.outage_id.in_(family)).group_by(call.state)
        )
    }
    logged, follow_up = session.execute(
        select(func.count(), func.sum(case((outcome.follow_up, 1), else_=0))).where(
            outcome.outage_id.in_(family)
        )
    ).one()
    return CustomerFigures(
        outage_id=outage_id,
        customers_affected=distinct_customers(False),
        vulnerable_affected=distinct_customers(True),
        callbacks=callbacks,
        calls={
            "cut_off": sum(by_state.values()),
            "followed_up": by_state.get("worked", 0),
            "open": by_state.get("open", 0),
        },
        outcomes={"logged": int(logged or 0), "follow_up": int(follow_up or 0)},
        compensation=totals(session, outage_id=outage_id),
    )


def record_on_timeline(session: Session, *, now: datetime, memo: Memo | None = None) -> int:
    """Put each outage's figures on its incident's timeline when they changed; how many entries.

    For outages open or ended within `FOLLOW_AFTER_END` that have an incident: an entry
    when the figures differ from the last entry and `EVERY` has passed since it, and at
    once when the outage has ended after the last entry (the final figures, even if the
    same). An outage that has touched no customer gets no entry. Unchanged figures are
    counted again at most every `EVERY` in this process (`memo`).
    """
    memo = TIMELINE_MEMO if memo is None else memo
    place = session.get_bind().engine.url.render_as_string(hide_password=True)
    found = session.execute(
        select(IncidentRow.id, OutageRow.id, OutageRow.ended_at)
        .join(OutageRow, OutageRow.id == IncidentRow.outage_id)
        .where(
            OutageRow.merged_into.is_(None),
            or_(OutageRow.ended_at.is_(None), OutageRow.ended_at >= now - FOLLOW_AFTER_END),
        )
        .order_by(IncidentRow.id)
    ).all()
    written = 0
    for incident_id, outage_id, ended_at in found:
        last = session.execute(
            select(TimelineRow.at, TimelineRow.data)
            .where(TimelineRow.incident_id == incident_id, TimelineRow.kind == KIND)
            .order_by(TimelineRow.at.desc(), TimelineRow.id.desc())
            .limit(1)
        ).first()
        final = ended_at is not None and (last is None or last.at < ended_at)
        if not final and last is not None and now - last.at < EVERY:
            continue
        memo_key = (place, incident_id)
        checked = memo.last(memo_key)
        # The final figures go at once when earlier ones are on the timeline; otherwise an
        # outage whose figures were just counted (unchanged, or none) waits its turn.
        if not (final and last is not None) and checked is not None and now - checked < EVERY:
            continue
        figures = _figures(session, outage_id, merged_family(session, outage_id))
        memo.remember_on_commit(session, memo_key, now)
        if figures.empty:
            continue
        data = figures.as_dict()
        if not final and last is not None and _figures_of(last.data) == data:
            continue
        text = headline(figures)
        add_entry(
            session,
            incident_id=incident_id,
            at=now,
            kind=KIND,
            actor=SYSTEM,
            text=f"Customers, final figures: {text}" if final else f"Customers: {text}",
            data={**data, "final": final},
        )
        written += 1
    return written


def _figures_of(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k != "final"}
