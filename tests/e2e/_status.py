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


def refresh(web: Web) -> None:
    """Render the status page now, as its background task does after a change."""
    assert web.app.state.status_board.refresh() is True


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
