"""A finished exercise's findings become actions, the same actions a review sets.

Each failed objective's finding becomes one action: source `exercise:ID`, kind `process`
(the exercise tested how people and the procedure answer), linked to the components the
scenario took down, due 30 days after the finish. Its owner is the person of the plan who
planned the exercise (a login named as a person's id), else the one who finished it; when
neither is a person of the plan the action is left unassigned (owner "") for a manager to
assign: nobody is reminded of it until then.

Exactly once: the actions carry the exercise as their source, and an exercise that already
has actions gets no more, however often this runs (a retried finish, a repeated pass).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.plan.schema import Plan
from standby.review.action_service import create_action, list_actions
from standby.review.actions import ActionRecord
from standby.store.tables import ActionRow

DUE_AFTER = timedelta(days=30)
KIND = "process"
UNASSIGNED = ""
TITLE_LIMIT = 2000


def source_of(exercise_id: int) -> str:
    """The `source` of the actions an exercise's findings became."""
    return f"exercise:{exercise_id}"


def owner_for(plan: Plan, *actors: str | None) -> str:
    """The first actor ("user:amara") whose name is a person of the plan; UNASSIGNED when none is."""
    for actor in actors:
        name = (actor or "").partition(":")[2] or (actor or "")
        if name in plan.people_by_id:
            return name
    return UNASSIGNED


def findings_to_actions(
    session: Session,
    *,
    exercise_id: int,
    title: str,
    findings: list[dict[str, Any]],
    down: tuple[str, ...],
    owner: str,
    plan: Plan,
    finished_at: datetime,
    by: str,
) -> list[int]:
    """Turn each finding into an action once; the action ids, one per finding, in order."""
    source = source_of(exercise_id)
    existing = list(
        session.scalars(select(ActionRow.id).where(ActionRow.source == source).order_by(ActionRow.id))
    )
    if existing:
        return existing
    links = [f"component:{c}" for c in down if c in plan.components_by_id]
    ids = []
    for finding in findings:
        text = f"Exercise {exercise_id} ({title}): {finding['text']}"[:TITLE_LIMIT]
        record = create_action(
            session, plan=plan, title=text, owner=owner, due_at=finished_at + DUE_AFTER, kind=KIND,
            links=links, source=source, unassigned=True, by=by, now=finished_at,
        )  # fmt: skip
        ids.append(record.id)
    return ids


def exercise_actions(session: Session, *, exercise_id: int, now: datetime) -> list[ActionRecord]:
    """The actions an exercise's findings became, oldest first."""
    return list_actions(session, now=now, source=source_of(exercise_id), limit=1000)[::-1]
