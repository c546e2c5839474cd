"""What other capabilities read of exercises: the failures they inject and who they may tell.

Detection reads `injections` beside the probes and alerts (an injected component fails like
one an alert says is down), so the real worker path opens the outage; the response reads
`exercise_audience` to keep outside audiences out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.exercise.audience import ExerciseAudience
from standby.store.tables import ExerciseRow, IncidentRow

RECOVERY_SEEN_FOR = timedelta(hours=1)
"""An injection that ended this recently still dates the recovery of its components."""


@dataclass(frozen=True)
class Injection:
    """One exercise's scenario in the live system: its components fail from start to end."""

    exercise_id: int
    title: str
    down: tuple[str, ...]
    started_at: datetime
    ends_at: datetime

    def failing(self, now: datetime) -> bool:
        """Whether its components fail now."""
        return self.started_at <= now < self.ends_at


def injections(session: Session, now: datetime) -> list[Injection]:
    """The scenarios failing now, and those that ended within `RECOVERY_SEEN_FOR`."""
    rows = session.scalars(
        select(ExerciseRow).where(
            ExerciseRow.started_at.is_not(None),
            (ExerciseRow.state == "running") | (ExerciseRow.finished_at >= now - RECOVERY_SEEN_FOR),
        )
    )
    found: list[Injection] = []
    for row in rows:
        assert row.started_at is not None  # selected so
        ends = row.started_at + timedelta(minutes=row.minutes)
        if row.finished_at is not None:
            ends = min(ends, row.finished_at)
        if ends >= now - RECOVERY_SEEN_FOR:
            found.append(Injection(row.id, row.title, tuple(row.down), row.started_at, ends))
    return found


def failing_now(found: list[Injection], now: datetime) -> Mapping[str, Injection]:
    """The injected components failing now, each with its exercise (the earliest started)."""
    failing: dict[str, Injection] = {}
    for injection in sorted(found, key=lambda i: (i.started_at, i.exercise_id)):
        if injection.failing(now):
            for component_id in injection.down:
                failing.setdefault(component_id, injection)
    return failing


def exercises_marker(session: Session) -> object:
    """Changes when an exercise starts or finishes: the workers correlate again at once."""
    return session.scalar(select(func.max(ExerciseRow.updated_at)))


def exercise_audience(session: Session, incident: IncidentRow) -> ExerciseAudience | None:
    """Who the incident's exercise may tell; None for a real incident."""
    if incident.exercise_id is None:
        return None
    tell = session.scalar(select(ExerciseRow.tell).where(ExerciseRow.id == incident.exercise_id))
    return ExerciseAudience(incident.exercise_id, frozenset(tell or ()))
