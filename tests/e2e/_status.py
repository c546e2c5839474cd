"""Shared pieces of the status page's tests: an outage of the IVR worked as the worker works it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from _web import T0, Web
from sqlalchemy import select

from standby.config import Settings
from standby.plan.versions import current_plan
from standby.respond.incident_service import transition
from standby.respond.responder import ResponseSettings, respond_once
from standby.store.engine import unit_of_work
from standby.store.tables import ComponentStateRow, IncidentRow, OutageRow

INTERNAL_NAMES = ("CloudCX", "IVR", "ivr", "Session border", "CRM")
"""Words of the plan's components and the incident's title that must never reach the public page."""
LOST = ["billing", "moving"]


def respond(web: Web, tmp_path: Path, minutes: float) -> None:
    """One pass of the response (paging, the communication plan), as the worker runs it."""
    web.clock.set(T0 + timedelta(minutes=minutes))
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, public_url="https://standby.test")
    with unit_of_work(web.factory) as session:
        found = current_plan(session)
        assert found is not None
        respond_once(
            session,
            plan=found[1],
            now=web.clock.now(),
            holder="w",
            settings=ResponseSettings(secret="s" * 40, base_url="https://standby.test", config=settings),
        )


def refresh(web: Web, *, served: bool = False) -> None:
    """Render the status page now, as its background task does after a change.

    `served`: the app runs with its background task, which may have rendered the change
    already (a plain refresh then finds nothing new: seen once on a loaded machine), so
    it renders again regardless.
    """
    assert web.app.state.status_board.refresh(force=served) is True


def ivr_down(web: Web, tmp_path: Path) -> int:
    """The IVR fails at T0: billing and moving home are lost; the response runs past the hold."""
    web.set_state("ivr", "down")
    with unit_of_work(web.factory) as session:
        session.add(
            OutageRow(
                started_at=T0,
                detected_at=T0,
                classification="partial",
                peak_classification="partial",
                causes=["ivr"],
                components=["ivr"],
                sites=[],
                queues=LOST,
                degraded_queues=[],
                history={"components": ["ivr"], "sites": [], "queues": LOST},
                summary="CloudCX IVR down",
                updated_at=T0,
            )
        )
    respond(web, tmp_path, 0)
    respond(web, tmp_path, 6)  # past the plan's 5-minute hold: the public is told now
    with unit_of_work(web.factory) as session:
        (incident_id,) = session.scalars(select(IncidentRow.id)).all()
    return incident_id


def ivr_back(web: Web, tmp_path: Path, incident_id: int, minutes: float = 40) -> None:
    """The IVR answers again after `minutes`; the outage ends and the incident is resolved."""
    end = T0 + timedelta(minutes=minutes)
    web.clock.set(end)
    with unit_of_work(web.factory) as session:
        state = session.get(ComponentStateRow, "ivr")
        assert state is not None
        state.state, state.since, state.updated_at = "up", end, end
        outage = session.scalars(select(OutageRow)).one()
        outage.ended_at, outage.updated_at, outage.queues = end, end, []
    respond(web, tmp_path, minutes)
    with unit_of_work(web.factory) as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        if row.state not in ("resolved", "reviewed"):
            transition(session, incident_id=incident_id, to="resolved", by="user:manager", now=end)
    respond(web, tmp_path, minutes + 0.5)


def ivr_exercise(web: Web, tmp_path: Path) -> tuple[int, int]:
    """An exercise takes the IVR down at T0 through the real correlation and response, past the
    public hold; the ids of the exercise and of its incident."""
    from standby.detect.correlation import Correlator
    from standby.detect.outages import correlate
    from standby.exercise.service import plan_exercise, start_exercise

    with unit_of_work(web.factory) as session:
        found = current_plan(session)
        assert found is not None
        plan = found[1]
        planned = plan_exercise(
            session, plan=plan, title="IVR lost", down=["ivr"], minutes=30,
            objectives=[{"kind": "acknowledged_within", "minutes": 5}], by="user:amara", now=T0,
        )
        start_exercise(session, exercise_id=planned.id, plan=plan, by="user:amara", now=T0)
    with unit_of_work(web.factory) as session:
        correlate(
            session, correlator=Correlator.from_plan(plan), maintenance=(),
            now=T0 + timedelta(seconds=5), holder="w",
        )
    respond(web, tmp_path, 0.1)
    respond(web, tmp_path, 6)  # past the hold: a real outage's public text would be out now
    with unit_of_work(web.factory) as session:
        outage = session.scalars(select(OutageRow)).one()
        incident = session.scalars(select(IncidentRow)).one()
        assert outage.exercise_id == planned.id and incident.exercise_id == planned.id
        assert outage.ended_at is None and "ivr" in outage.components
    web.set_state("ivr", "down")  # as the correlation recorded it: down, by the exercise alone
    return planned.id, incident.id
