"""Changing an incident's severity by hand, with the reason on the timeline.

Standby sets the severity from the outage's class and queues (`incidents.severity`);
the commander may know better (a queue of vulnerable callers, a regulator asking) and
change it. The reason is required: the timeline says who changed it, from what, to
what and why. A closed incident (resolved or reviewed) keeps the severity it had.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from standby.errors import Conflict, InvalidInput, NotFound
from standby.respond.incident_service import IncidentRecord, get_incident
from standby.respond.incidents import OPEN_STATES, SEVERITY_WORDS
from standby.respond.timeline import add_entry
from standby.store.tables import IncidentRow

REASON_AT_MOST = 1000


def parse_severity(value: int | str) -> int:
    """1 to 4 from 1, "1", "SEV1" or "sev1"; InvalidInput saying what is allowed otherwise."""
    text = str(value).strip().upper().removeprefix("SEV").strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) not in SEVERITY_WORDS:
        words = ", ".join(SEVERITY_WORDS.values())
        raise InvalidInput(f"severity: {str(value)[:20]!r} is not a severity: use 1 to 4 ({words})")
    return int(text)


def change_severity(
    session: Session, *, incident_id: int, severity: int | str, reason: str, by: str, now: datetime
) -> IncidentRecord:
    """Set the incident's severity, with who, from, to and why on the timeline.

    InvalidInput for an unknown severity, the same one again or no reason; Conflict for a
    closed incident; NotFound for no incident.
    """
    level = parse_severity(severity)
    why = reason.strip()
    if not why:
        raise InvalidInput("reason: say why the severity changes; it goes on the timeline")
    if len(why) > REASON_AT_MOST:
        raise InvalidInput(f"reason: at most {REASON_AT_MOST:,} characters")
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if row.state not in OPEN_STATES:
        then = "; reopen it first" if row.state == "resolved" else ""
        raise Conflict(f"the incident is {row.state}: its severity no longer changes{then}")
    if row.severity == level:
        raise InvalidInput(f"severity: the incident is already {SEVERITY_WORDS[level]}")
    before, row.severity, row.updated_at = row.severity, level, now
    add_entry(
        session,
        incident_id=incident_id,
        at=now,
        kind="severity",
        actor=by,
        text=f"Severity {SEVERITY_WORDS[before]} -> {SEVERITY_WORDS[level]}: {why}",
        data={"from": before, "to": level, "reason": why},
    )
    session.flush()
    return get_incident(session, incident_id)
