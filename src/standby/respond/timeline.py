"""An incident's timeline: every change, message, action and note, with its time and who.

The one place timeline entries are written and read; every part of Respond (paging,
the communication plan, strategies, notes) adds to it through `add_entry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.store.tables import TimelineRow

EntryKind = Literal[
    "state",  # the incident moved to another step
    "severity",  # a person changed the severity, with why
    "role",  # commander, communications lead or technical lead assigned
    "page",  # someone paged
    "ack",  # a page acknowledged
    "escalation",  # the next level paged, or escalation exhausted
    "message",  # a message queued, sent, or parked (delivery status)
    "deadline",  # a promised notification met or missed (the regulator's)
    "reminder",  # an update is due
    "strategy",  # a continuity strategy proposed, approved, declined, run
    "action",  # a strategy's action carried out (webhook, IVR message, SMS)
    "runbook",  # a runbook step ticked off
    "outage",  # the outage widened, narrowed or ended
    "note",  # a person's note
    "customers",  # what the outage did to customers: the commander's figures, as they change
    "forecast",  # the live forecast, each time its recommendation changes
]
SYSTEM = "standby"
"""The actor of entries Standby itself makes."""


@dataclass(frozen=True)
class Entry:
    """One timeline entry."""

    id: int
    incident_id: int
    at: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]


def add_entry(
    session: Session,
    *,
    incident_id: int,
    at: datetime,
    kind: EntryKind,
    text: str,
    actor: str = SYSTEM,
    data: dict[str, Any] | None = None,
) -> None:
    """Add an entry to an incident's timeline (committed with the caller's unit of work)."""
    session.add(
        TimelineRow(
            incident_id=incident_id, at=at, kind=kind, actor=actor[:100], text=text[:4000], data=data or {}
        )
    )


def entries(session: Session, incident_id: int, *, kind: str | None = None, limit: int = 5000) -> list[Entry]:
    """An incident's timeline, oldest first."""
    query = (
        select(TimelineRow)
        .where(TimelineRow.incident_id == incident_id)
        .order_by(TimelineRow.at, TimelineRow.id)
        .limit(limit)
    )
    if kind is not None:
        query = query.where(TimelineRow.kind == kind)
    return [
        Entry(r.id, r.incident_id, r.at, r.kind, r.actor, r.text, dict(r.data))
        for r in session.scalars(query)
    ]


MESSAGE_KINDS = ("message", "deadline", "reminder", "page")
"""What the timeline's "messages" filter shows: what was sent, to whom, and the promises kept."""
FILTERS = ("all", "people", "system", "messages")


def newest_entries(
    session: Session, incident_id: int, *, show: str = "all", before: int | None = None, limit: int = 50
) -> tuple[list[Entry], bool]:
    """A page of the timeline, newest first, and whether older entries remain.

    `show` narrows it: people (entries a person made), system (what Standby did, messages
    aside) or messages. `before` is the id of the oldest entry of the previous page.
    """
    query = select(TimelineRow).where(TimelineRow.incident_id == incident_id)
    if show == "people":
        query = query.where(TimelineRow.actor != SYSTEM)
    elif show == "system":
        query = query.where(TimelineRow.actor == SYSTEM, TimelineRow.kind.not_in(MESSAGE_KINDS))
    elif show == "messages":
        query = query.where(TimelineRow.kind.in_(MESSAGE_KINDS))
    if before is not None:
        edge = session.execute(
            select(TimelineRow.at, TimelineRow.id).where(
                TimelineRow.id == before, TimelineRow.incident_id == incident_id
            )
        ).first()
        if edge is not None:
            query = query.where(
                (TimelineRow.at < edge.at) | ((TimelineRow.at == edge.at) & (TimelineRow.id < edge.id))
            )
    newest_first = query.order_by(TimelineRow.at.desc(), TimelineRow.id.desc()).limit(limit + 1)
    rows = list(session.scalars(newest_first))
    found = [Entry(r.id, r.incident_id, r.at, r.kind, r.actor, r.text, dict(r.data)) for r in rows[:limit]]
    return found, len(rows) > limit


def latest_entry_id(session: Session, incident_id: int) -> int:
    """The id of the incident's newest timeline entry (0 when it has none): the room's change mark."""
    newest = select(func.max(TimelineRow.id)).where(TimelineRow.incident_id == incident_id)
    return int(session.scalar(newest) or 0)
