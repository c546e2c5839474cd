"""Updates the communications lead writes for the status page, on the incident's timeline.

They are notes marked public (`data.public`), with the Statuspage status they announce:
the room shows them with the other notes, and the status page shows them as the
incident's updates (standby.status.notices).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.errors import InvalidInput, NotFound
from standby.respond.timeline import add_entry
from standby.status.notices import NOTICE_STATUSES
from standby.store.tables import IncidentRow, TimelineRow

MAX_TEXT = 2000
"""An update customers read on a phone: a couple of paragraphs at most."""


@dataclass(frozen=True)
class PublicUpdate:
    """An update written for the status page."""

    id: int
    incident_id: int
    status: str
    text: str
    at: datetime
    by: str


def post_public_update(
    session: Session, *, incident_id: int, status: str, text: str, by: str, now: datetime
) -> PublicUpdate:
    """Add a public update to the incident's timeline; the status page shows it at its next rendering."""
    text = text.strip()
    if status not in NOTICE_STATUSES:
        raise InvalidInput(f"status: use one of {', '.join(NOTICE_STATUSES)}")
    if not text:
        raise InvalidInput("text: the update is empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"text: an update for the status page is at most {MAX_TEXT:,} characters")
    if session.get(IncidentRow, incident_id) is None:
        raise NotFound(f"no incident {incident_id}")
    add_entry(
        session,
        incident_id=incident_id,
        at=now,
        kind="note",
        actor=by,
        text=text,
        data={"public": True, "status": status},
    )
    session.flush()
    entry_id = session.scalar(
        select(TimelineRow.id)
        .where(TimelineRow.incident_id == incident_id, TimelineRow.kind == "note")
        .order_by(TimelineRow.id.desc())
        .limit(1)
    )
    return PublicUpdate(int(entry_id or 0), incident_id, status, text, now, by)
