"""What people write in an incident's review, and its sign-off, which moves the incident to reviewed
through the incident's own state machine (`respond.incident_service.transition`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.errors import Conflict, InvalidInput
from standby.respond.incident_service import get_incident, lock_incident, transition
from standby.review.draft import Written
from standby.store.tables import ReviewRow

FIELDS = ("factors", "went_well", "went_wrong", "lucky")
"""Contributing factors, what went well, what went wrong, and where we were lucky."""
MOST = 20_000


def written_of(session: Session, incident_id: int) -> Written:
    """What has been written in the incident's review (empty when nothing yet)."""
    row = session.scalars(select(ReviewRow).where(ReviewRow.incident_id == incident_id)).first()
    if row is None:
        return Written()
    return Written(
        factors=row.factors,
        went_well=row.went_well,
        went_wrong=row.went_wrong,
        lucky=row.lucky,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        signed_off_at=row.signed_off_at,
        signed_off_by=row.signed_off_by,
    )


def _ready(session: Session, incident_id: int, doing: str) -> None:
    incident = get_incident(session, incident_id)
    if incident.state == "reviewed":
        raise Conflict(f"incident {incident_id}'s review is signed off: it cannot be {doing}")
    if incident.state != "resolved":
        raise Conflict(
            f"incident {incident_id} is {incident.state}: the review is {doing} once it is resolved"
        )


def save_written(
    session: Session, *, incident_id: int, texts: dict[str, str | None], by: str, now: datetime
) -> Written:
    """Write some of the review's texts (the others are kept); Conflict unless the incident is resolved."""
    unknown = [k for k in texts if k not in FIELDS]
    if unknown:
        raise InvalidInput(f"{unknown[0]}: not a part of the review; write {', '.join(FIELDS)}")
    for name, text in texts.items():
        if text is not None and len(text) > MOST:
            raise InvalidInput(f"{name}: at most {MOST:,} characters")
    lock_incident(session, incident_id)
    _ready(session, incident_id, "written")
    row = session.scalars(select(ReviewRow).where(ReviewRow.incident_id == incident_id)).first()
    if row is None:
        row = ReviewRow(
            incident_id=incident_id,
            factors="",
            went_well="",
            went_wrong="",
            lucky="",
            updated_at=now,
            updated_by=by,
        )
        session.add(row)
    for name, text in texts.items():
        if text is not None:
            setattr(row, name, text.strip())
    row.updated_at, row.updated_by = now, by
    session.flush()
    return written_of(session, incident_id)


def sign_off(session: Session, *, incident_id: int, by: str, now: datetime) -> Written:
    """Sign the review off: the incident moves to reviewed; Conflict unless resolved with text written."""
    lock_incident(session, incident_id)
    _ready(session, incident_id, "signed off")
    row = session.scalars(select(ReviewRow).where(ReviewRow.incident_id == incident_id)).first()
    if row is None or not any(getattr(row, name) for name in FIELDS):
        raise Conflict(
            "the review has nothing written yet: write its factors (at least) before signing it off"
        )
    row.signed_off_at, row.signed_off_by = now, by
    transition(session, incident_id=incident_id, to="reviewed", by=by, now=now, note="review signed off")
    return written_of(session, incident_id)
