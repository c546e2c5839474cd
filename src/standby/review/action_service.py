"""Actions as a service: set, listed, read and closed with a note. The unit of work commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.schema import Plan
from standby.respond.incident_service import get_incident
from standby.review.actions import ActionRecord, check_action
from standby.store.tables import ActionRow


def _record(row: ActionRow, now: datetime) -> ActionRecord:
    return ActionRecord(
        id=row.id,
        incident_id=row.incident_id,
        source=row.source,
        title=row.title,
        owner=row.owner,
        due_at=row.due_at,
        kind=row.kind,
        links=tuple(row.links or ()),
        state=row.state,
        created_at=row.created_at,
        created_by=row.created_by,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        close_note=row.close_note,
        overdue=row.state == "open" and row.due_at <= now,
    )


def create_action(
    session: Session,
    *,
    plan: Plan,
    title: str,
    owner: str,
    due_at: datetime,
    kind: str,
    links: Sequence[str] = (),
    incident_id: int | None = None,
    source: str | None = None,
    unassigned: bool = False,
    by: str,
    now: datetime,
) -> ActionRecord:
    """Set an action; InvalidInput for a bad field, NotFound for no such incident.

    With `unassigned`, an owner of "" is kept: the action waits for `assign_action`.
    """
    checked = check_action(plan, title=title, owner=owner, kind=kind, links=links, unassigned=unassigned)
    if incident_id is not None:
        get_incident(session, incident_id)
    elif not (source or "").strip():
        raise InvalidInput("source: an action from no incident says where it came from (an exercise)")
    row = ActionRow(
        incident_id=incident_id,
        source=(source or "").strip()[:200] or None,
        title=title.strip(),
        owner=owner,
        due_at=due_at,
        kind=kind,
        links=list(checked),
        state="open",
        created_at=now,
        created_by=by,
    )
    session.add(row)
    session.flush()
    return _record(row, now)


def get_action(session: Session, action_id: int, *, now: datetime) -> ActionRecord:
    """One action; NotFound for none with that id."""
    row = session.get(ActionRow, action_id)
    if row is None:
        raise NotFound(f"no action {action_id}")
    return _record(row, now)


def list_actions(
    session: Session,
    *,
    now: datetime,
    state: str | None = None,
    overdue: bool = False,
    owner: str | None = None,
    incident_id: int | None = None,
    source: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[ActionRecord]:
    """Actions, newest first, narrowed by state (open or closed), overdue, owner, incident and source."""
    query = select(ActionRow).order_by(ActionRow.id.desc()).limit(limit)
    if state is not None:
        query = query.where(ActionRow.state == state)
    if overdue:
        query = query.where(ActionRow.state == "open", ActionRow.due_at <= now)
    if owner is not None:
        query = query.where(ActionRow.owner == owner)
    if incident_id is not None:
        query = query.where(ActionRow.incident_id == incident_id)
    if source is not None:
        query = query.where(ActionRow.source == source)
    if before_id is not None:
        query = query.where(ActionRow.id < before_id)
    return [_record(r, now) for r in session.scalars(query)]


def actions_of(session: Session, *, incident_id: int, now: datetime) -> list[ActionRecord]:
    """The actions an incident's review set, oldest first."""
    query = select(ActionRow).where(ActionRow.incident_id == incident_id).order_by(ActionRow.id)
    return [_record(r, now) for r in session.scalars(query)]


def assign_action(session: Session, *, action_id: int, owner: str, plan: Plan, now: datetime) -> ActionRecord:
    """Give an open action its owner, a person of the plan; Conflict once it is closed."""
    if owner not in plan.people_by_id:
        raise InvalidInput(f"owner: no person {owner!r} in the plan's people")
    row = session.get(ActionRow, action_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no action {action_id}")
    if row.state == "closed":
        raise Conflict(f"action {action_id} is closed: it needs no owner now")
    row.owner = owner
    session.flush()
    return _record(row, now)


def close_action(session: Session, *, action_id: int, note: str, by: str, now: datetime) -> ActionRecord:
    """Close an action with a note saying what was done; Conflict if it is closed already."""
    note = note.strip()
    if not note:
        raise InvalidInput("note: say what was done (or why it is closed)")
    row = session.get(ActionRow, action_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no action {action_id}")
    if row.state == "closed":
        raise Conflict(f"action {action_id} was closed by {row.closed_by}: it is closed already")
    row.state, row.closed_at, row.closed_by, row.close_note = "closed", now, by, note[:4000]
    session.flush()
    return _record(row, now)
