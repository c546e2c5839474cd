"""Callbacks asked for on the public status page while a line is down: booked, then placed after recovery.

A service: it never commits. Why such a callback has its own source and state: a
callback the outage caught was promised a time and missed it (`missed`, counted in the
figures, and possibly owed compensation). A customer who asks on the status page while
the line is down was promised nothing yet; booking them "due now" would have the outage
handling flag them and count them missed. So they are booked `requested` (source
`status_page`) with the outage that stops their queue, never flagged and never missed,
and given a time only once that outage ends: in the same response pass, just after the
outage's missed callbacks (who were promised a time first), by the same placement rules
(`customers.rescheduling`: vulnerable callers first, then who asked first) and the same
capacity after recovery (`customers.capacity`). Placing them at once "at the first slot
after the expected recovery" was rejected: nobody knows when an open outage will end,
and a time given now would have to be moved, and told again, whenever the guess was
wrong.

The customer is told twice, by SMS through the outbox: at once ("we will call you back,
and text you the time first") and when placed (the window). A number asks once per
outage: a second request for the same number and outage books nothing and sends nothing,
and the answer is the same either way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.customers.capacity import callback_capacity
from standby.customers.missed_callbacks import booked_after
from standby.customers.rescheduling import ToPlace, place
from standby.notify.outbox import NewMessage, put_many
from standby.plan.schema import Plan
from standby.store.tables import CallbackEventRow, CallbackRow, OutageRow

SOURCE = "status_page"
ACTOR = "status page"
MAX_NAME = 100


@dataclass(frozen=True)
class CallbackAsked:
    """A request from the status page, checked: who, which queue, whether they need extra help."""

    phone: str
    name: str
    queue: str
    vulnerable: bool


def open_outage_of(session: Session, queue: str) -> OutageRow | None:
    """The open outage that stops `queue` now (the latest), if any."""
    rows = session.scalars(
        select(OutageRow)
        .where(OutageRow.ended_at.is_(None), OutageRow.merged_into.is_(None))
        .order_by(OutageRow.id.desc())
    )
    return next((o for o in rows if queue in (o.queues or []) and not o.in_maintenance), None)


def request_callback(
    session: Session, asked: CallbackAsked, *, organisation: str, now: datetime
) -> bool:
    """Book the request (once per number and outage) and text the customer; whether it was new."""
    outage = open_outage_of(session, asked.queue)
    outage_id = outage.id if outage is not None else None
    same = select(CallbackRow.id).where(
        CallbackRow.source == SOURCE,
        CallbackRow.customer_key == asked.phone,
        CallbackRow.state == "requested",
    )
    same = same.where(CallbackRow.outage_id == outage_id) if outage_id is not None else same
    if session.scalar(same.limit(1)) is not None:
        return False
    row = CallbackRow(
        customer=asked.name, phone=asked.phone, customer_key=asked.phone, email=None, queue=asked.queue,
        vulnerable=asked.vulnerable, notes="asked on the status page while the line was down",
        requested_due_at=now, due_at=now, window_end=None, state="requested", outage_id=outage_id,
        missed=False, moves=0, source=SOURCE, created_by=ACTOR, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    why = f"while outage {outage_id} stops its queue" if outage_id is not None else "while its line was down"
    session.add(
        CallbackEventRow(
            callback_id=row.id, at=now, kind="requested", actor=ACTOR,
            text=f"asked for on the status page {why}; a time is given once it is back",
            data={"outage_id": outage_id, "vulnerable": asked.vulnerable},
        )
    )
    text = (
        f"{organisation}: we will call you back on this number once the line is working again."
        " We will text you the time first."
    )
    told = NewMessage(f"status-callback:{row.id}", "sms", asked.phone, text, "callback")
    put_many(session, [told], now=now)
    return True


def place_requested(session: Session, *, plan: Plan, now: datetime) -> int:
    """Give a time to the requests whose outage has ended (or that had none), and text it; how many."""
    rows = session.scalars(select(CallbackRow).where(CallbackRow.state == "requested")).all()
    if not rows:
        return 0
    by_recovery: dict[datetime, list[CallbackRow]] = defaultdict(list)
    for row in rows:
        ended = _ended_at(session, row.outage_id) if row.outage_id is not None else now
        if ended is not None:
            by_recovery[max(ended, now)].append(row)
    zone = ZoneInfo(plan.organisation.timezone)
    placed_count = 0
    for recovery, group in sorted(by_recovery.items()):
        capacity = callback_capacity(plan, recovery=recovery, booked=booked_after(session, recovery))
        # Who asked first waits least: the time asked stands in for a due time.
        placement = place([ToPlace(r.id, r.queue, r.vulnerable, r.created_at) for r in group], capacity)
        by_id = {r.id: r for r in group}
        messages = []
        for slot in placement.placed:
            row = by_id[slot.id]
            row.state, row.due_at, row.window_end = "scheduled", slot.start, slot.end
            row.rescheduled_at, row.updated_at = now, now
            start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
            window = f"{start:%H:%M} and {end:%H:%M} on {start:%a %d %b}"
            session.add(
                CallbackEventRow(
                    callback_id=row.id, at=now, kind="placed", actor="standby",
                    text=f"placed after recovery: {window}", data={"due_at": slot.start.isoformat(),
                    "window_end": slot.end.isoformat(), "outage_id": row.outage_id},
                )
            )
            messages.append(
                NewMessage(
                    f"status-callback:{row.id}:placed", "sms", row.phone,
                    f"{plan.organisation.name}: we will call you back between {window}.", "callback",
                )
            )
        for left in placement.unplaced:
            row = by_id[left.id]
            row.state, row.updated_at = "unplaced", now
            session.add(
                CallbackEventRow(
                    callback_id=row.id, at=now, kind="unplaced", actor="standby",
                    text=f"no slot after recovery: {left.reason}", data={"outage_id": row.outage_id},
                )
            )
        put_many(session, messages, now=now)
        placed_count += len(placement.placed)
    return placed_count


def _ended_at(session: Session, outage_id: int) -> datetime | None:
    """When the outage ended, following merges to the outage it became; None while open."""
    seen: set[int] = set()
    current: int | None = outage_id
    while current is not None and current not in seen:
        seen.add(current)
        outage = session.get(OutageRow, current)
        if outage is None:
            return None
        if outage.merged_into is None:
            return outage.ended_at
        current = outage.merged_into
    return None
