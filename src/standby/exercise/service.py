"""Exercises as a service: plan one, start it (its scenario injected into the live system),
finish it (its objectives measured), and read the log. Callers own the unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from standby.errors import Conflict, InvalidInput, NotFound
from standby.exercise.findings_service import findings_to_actions, owner_for
from standby.exercise.objectives import read_objectives
from standby.exercise.results_service import results_of
from standby.plan.schema import Plan
from standby.store.tables import ExerciseRow

MAX_MINUTES = 24 * 60
MAX_TITLE = 300


@dataclass(frozen=True)
class ExerciseRecord:
    """An exercise as recorded: its scenario, objectives, state and results."""

    id: int
    title: str
    planned_on: date | None
    down: tuple[str, ...]
    minutes: int
    objectives: tuple[dict[str, Any], ...]
    tell: tuple[str, ...]
    state: str
    created_at: datetime
    created_by: str
    started_at: datetime | None
    started_by: str | None
    finished_at: datetime | None
    finished_by: str | None
    results: dict[str, Any] | None


def _record(row: ExerciseRow) -> ExerciseRecord:
    return ExerciseRecord(
        id=row.id,
        title=row.title,
        planned_on=row.planned_on,
        down=tuple(row.down),
        minutes=row.minutes,
        objectives=tuple(row.objectives),
        tell=tuple(row.tell),
        state=row.state,
        created_at=row.created_at,
        created_by=row.created_by,
        started_at=row.started_at,
        started_by=row.started_by,
        finished_at=row.finished_at,
        finished_by=row.finished_by,
        results=row.results,
    )


def plan_exercise(
    session: Session,
    *,
    plan: Plan,
    title: str,
    down: Sequence[str],
    minutes: int,
    objectives: object,
    tell: Sequence[str] = (),
    planned_on: date | None = None,
    by: str,
    now: datetime,
) -> ExerciseRecord:
    """Record a planned exercise; InvalidInput says what in it the plan cannot take."""
    title = title.strip()
    if not title:
        raise InvalidInput("title: say what the exercise tests, in a few words")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"title: at most {MAX_TITLE} characters")
    if not down:
        raise InvalidInput("scenario.down: name at least one component that goes down")
    unknown = [c for c in down if c not in plan.components_by_id]
    if unknown:
        raise InvalidInput(f"scenario.down: no component {', '.join(map(repr, unknown))} in the plan")
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"scenario.minutes: from 1 to {MAX_MINUTES} minutes")
    groups = {g.id for g in plan.stakeholders}
    strangers = [g for g in tell if g not in groups]
    if strangers:
        raise InvalidInput(f"tell: no stakeholder group {', '.join(map(repr, strangers))} in the plan")
    checked = read_objectives(objectives, plan)
    row = ExerciseRow(
        title=title,
        planned_on=planned_on,
        down=list(dict.fromkeys(down)),
        minutes=minutes,
        objectives=[o.model_dump(exclude_none=True) for o in checked],
        tell=list(dict.fromkeys(tell)),
        state="planned",
        created_at=now,
        created_by=by,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _record(row)


def get_exercise(session: Session, exercise_id: int) -> ExerciseRecord:
    """One exercise; NotFound when there is none with that id."""
    row = session.get(ExerciseRow, exercise_id)
    if row is None:
        raise NotFound(f"no exercise {exercise_id}")
    return _record(row)


def list_exercises(
    session: Session, *, state: str | None = None, before_id: int | None = None, limit: int = 50
) -> list[ExerciseRecord]:
    """Exercises, newest first, optionally of one state."""
    query = select(ExerciseRow).order_by(ExerciseRow.id.desc()).limit(limit)
    if state is not None:
        query = query.where(ExerciseRow.state == state)
    if before_id is not None:
        query = query.where(ExerciseRow.id < before_id)
    return [_record(r) for r in session.scalars(query)]


def finished_dates(session: Session) -> list[date]:
    """The day each finished exercise ended, for the programme and the audit."""
    return [
        at.date()
        for at in session.scalars(select(ExerciseRow.finished_at).where(ExerciseRow.state == "finished"))
        if at
    ]


def start_exercise(
    session: Session, *, exercise_id: int, plan: Plan, by: str, now: datetime
) -> ExerciseRecord:
    """Inject the scenario now: its components fail, as an exercise, for its minutes.

    Conflict when it is not planned, when another exercise is running, or when the
    plan in force no longer has one of its components.
    """
    row = session.get(ExerciseRow, exercise_id)
    if row is None:
        raise NotFound(f"no exercise {exercise_id}")
    if row.state != "planned":
        raise Conflict(f"exercise {exercise_id} is {row.state}: only a planned exercise starts")
    running = session.scalar(select(ExerciseRow.id).where(ExerciseRow.state == "running"))
    if running is not None:
        raise Conflict(f"exercise {running} is running: finish it first")
    gone = [c for c in row.down if c not in plan.components_by_id]
    if gone:
        raise Conflict(f"the plan in force has no component {', '.join(map(repr, gone))}: plan it again")
    # Compare and set: two starts at once start it once.
    done = session.execute(
        update(ExerciseRow)
        .where(ExerciseRow.id == exercise_id, ExerciseRow.state == "planned")
        .values(state="running", started_at=now, started_by=by, updated_at=now)
    )
    if not getattr(done, "rowcount", 0):
        raise Conflict(f"exercise {exercise_id} was started meanwhile")
    session.refresh(row)
    return _record(row)


def finish_exercise(
    session: Session, *, exercise_id: int, plan: Plan, by: str, now: datetime
) -> ExerciseRecord:
    """End the exercise now (its components recover), measure its objectives, and turn each
    finding into an action (`findings_service`), all in the caller's unit of work."""
    row = session.get(ExerciseRow, exercise_id)
    if row is None:
        raise NotFound(f"no exercise {exercise_id}")
    if row.state != "running":
        raise Conflict(f"exercise {exercise_id} is {row.state}: only a running exercise finishes")
    done = session.execute(
        update(ExerciseRow)
        .where(ExerciseRow.id == exercise_id, ExerciseRow.state == "running")
        .values(state="finished", finished_at=now, finished_by=by, updated_at=now)
    )
    if not getattr(done, "rowcount", 0):
        raise Conflict(f"exercise {exercise_id} was finished meanwhile")
    session.refresh(row)
    results = results_of(session, row, plan=plan)
    ids = findings_to_actions(
        session, exercise_id=row.id, title=row.title, findings=results["findings"], down=tuple(row.down),
        owner=owner_for(plan, row.created_by, by), plan=plan, finished_at=now, by=by,
    )  # fmt: skip
    for finding, action_id in zip(results["findings"], ids, strict=False):
        finding["action_id"] = action_id
    results["action_ids"] = ids
    row.results = results
    session.flush()
    return _record(row)
