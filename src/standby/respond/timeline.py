"""An incident's timeline: every change, message, action and note, with its time and who.

The one place timeline entries are written and read; every part of Respond (paging,
the communication plan, strategies, notes) adds to it through `add_entry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.store.tables import TimelineRow

EntryKind = Literal[
    "state",  # the incident moved to another step
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
