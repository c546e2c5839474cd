"""Overdue actions' owners reminded through the outbox: within a pass of the action falling due,
then weekly while it stays open, never twice for the same due time and week.

Run by the worker's response pass (`respond.responder.respond_once`), under its lock. Each
message's idempotency key names the action, its due time and the week (`actions.reminder_key`),
so a pass repeated after a crash or by another worker finds the message already queued.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.notify.outbox import enqueue
from standby.plan.schema import Plan
from standby.respond.deadline_service import person_addresses
from standby.review.actions import occurrence, reminder_key
from standby.store.tables import ActionRow

PURPOSE = "action-reminder"


def remind_overdue_actions(session: Session, *, plan: Plan, now: datetime, base_url: str) -> int:
    """Queue a reminder to each overdue action's owner not yet reminded this week; how many actions."""
    reminded = 0
    due = select(ActionRow).where(ActionRow.state == "open", ActionRow.due_at <= now).order_by(ActionRow.id)
    for row in session.scalars(due):
        week = occurrence(row.due_at, now)
        if week is None:
            continue
        if row.reminded_due_at == row.due_at and (row.reminded_occurrence or 0) >= week:
            continue
        person = plan.people_by_id.get(row.owner)
        if person is None:
            continue  # no longer in the plan: nobody to remind, the action shows as overdue
        local = row.due_at.astimezone(ZoneInfo(plan.organisation.timezone)).strftime("%a %d %b %Y %H:%M")
        where = f"{base_url.rstrip('/')}/incidents/{row.incident_id}/review" if row.incident_id else base_url
        late = "is overdue" if week == 0 else f"is {week} week{'s' if week > 1 else ''} overdue"
        body = (
            f"Action {row.id} {late} (due {local}): {row.title}\n"
            f"Close it with a note once done: {where.rstrip('/')}"
        )
        key = reminder_key(row.id, row.due_at, week)
        for channel, address in person_addresses(person):
            enqueue(
                session,
                key=f"{key}:{channel}",
                channel=channel,
                recipient=address,
                recipient_name=person.name,
                subject=f"Action {row.id} {late}: {row.title[:120]}" if channel == "email" else None,
                body=body,
                purpose=PURPOSE,
                incident_id=row.incident_id,
                now=now,
            )
        row.reminded_due_at, row.reminded_occurrence = row.due_at, week
        reminded += 1
    return reminded
