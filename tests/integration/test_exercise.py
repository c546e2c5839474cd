"""An exercise end to end on a real database, driven through the worker's own steps
(correlation, then the response pass): its scenario opens an outage and an incident
flagged as an exercise, the real procedure runs with every message marked EXERCISE,
no customer, regulator or vendor is told, and finishing it measures its objectives:
one passes, one fails by design.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_response import SETTINGS, T0, plan_in_force, respond, set_probes

from standby.detect.correlation import Correlator
from standby.detect.outages import correlate
from standby.errors import Conflict, InvalidInput
from standby.exercise.service import finish_exercise, get_exercise, plan_exercise, start_exercise
from standby.notify.outbox_desk import list_messages
from standby.plan.audit import audit
from standby.plan.audit_reviews import ReviewLog
from standby.plan.schema import Plan
from standby.respond.ivr_message import current_ivr_message
from standby.respond.oncall_service import acknowledge_page
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, OutageRow, PageRow

OBJECTIVES = [
    {"kind": "acknowledged_within", "minutes": 5},
    # The SBC down takes the emergency queue (15 minutes' tolerance) for 20: fails by design.
    {"kind": "tolerances_kept"},
]
OUTSIDE = ("incidents@regulator.example",)


def correlate_at(factory: sessionmaker[Session], plan: Plan, at: object) -> None:
    with unit_of_work(factory) as session:
        correlate(session, correlator=Correlator.from_plan(plan), maintenance=(), now=at, holder="w")  # type: ignore[arg-type]


def test_an_exercise_runs_the_real_procedure_and_is_measured(session_factory: sessionmaker[Session]) -> None:
    plan = plan_in_force(session_factory)
    set_probes(session_factory, plan, T0, up=["sbc", "trunk-a", "trunk-b", "crm"])
    with unit_of_work(session_factory) as session:
        planned = plan_exercise(
            session,
            plan=plan,
            title="SBC lost at peak",
            down=["sbc"],
            minutes=20,
            objectives=OBJECTIVES,
            by="user:amara",
            now=T0,
        )
        start_exercise(session, exercise_id=planned.id, plan=plan, by="user:amara", now=T0)
    correlate_at(session_factory, plan, T0 + timedelta(seconds=5))
    first = respond(session_factory, plan, T0 + timedelta(seconds=5))
    assert len(first.opened) == 1 and first.pages == 1
    (incident_id,) = first.opened
    with unit_of_work(session_factory) as session:
        incident = session.get_one(IncidentRow, incident_id)
        outage = session.get_one(OutageRow, incident.outage_id)
        assert incident.exercise_id == planned.id and outage.exercise_id == planned.id
        assert outage.started_at == T0 and "sbc" in outage.causes
        page_id = session.scalars(select(PageRow.id).where(PageRow.incident_id == incident_id)).one()
        acknowledge_page(session, page_id=page_id, by="user:dev", now=T0 + timedelta(minutes=2), plan=plan)
    # Past the interruption hold: leadership and the agents are told; the outside groups never.
    for minutes in (6, 12, 18):
        respond(session_factory, plan, T0 + timedelta(minutes=minutes))
    correlate_at(session_factory, plan, T0 + timedelta(minutes=20, seconds=5))
    respond(session_factory, plan, T0 + timedelta(minutes=21))
    with unit_of_work(session_factory) as session:
        outage = session.get_one(OutageRow, outage.id)
        assert outage.ended_at == T0 + timedelta(minutes=20)  # the scenario's end is the recovery
        messages = list_messages(session, incident_id=incident_id, limit=500)
        assert {m.purpose for m in messages} >= {"page", "comm-detected"}
        assert all(m.body.startswith("EXERCISE: ") for m in messages)
        assert all(m.subject.startswith("EXERCISE: ") for m in messages if m.subject)
        assert not [m for m in messages if m.recipient in OUTSIDE]
        told = {m.key.split(":")[2] for m in messages if m.key.startswith("comm:")}
        assert "leadership" in told and not told & {"regulator", "customers", "suppliers"}
        spared = [e for e in entries(session, incident_id, kind="message") if e.data.get("exercise_spared")]
        assert len(spared) == 1 and spared[0].data["exercise_spared"] == [
            "regulator",
            "customers",
            "suppliers",
        ]
        assert not [
            e
            for e in entries(session, incident_id)
            if e.kind == "message"
            and e.data.get("text")
            and e.data.get("channel") in ("status_page", "ivr_message")
        ]
        assert current_ivr_message(session, plan=plan) is None  # callers never hear an exercise
        finished = finish_exercise(
            session, exercise_id=planned.id, plan=plan, by="user:amara", now=T0 + timedelta(minutes=22)
        )
    results = finished.results
    assert results is not None and finished.state == "finished"
    assert [o["passed"] for o in results["objectives"]] == [True, False]
    assert results["objectives"][0]["evidence"] == "acknowledged 1.9 min after detection"  # detected at 00:05
    assert results["objectives"][1]["evidence"].startswith("emergency: out 20.0 min of 15 min allowed")
    assert results["findings"] == [
        {
            "text": "Every impact tolerance kept: not met (" + results["objectives"][1]["evidence"] + ")",
            "objective": 1,
            "action_id": results["action_ids"][0],  # the finding became an action (the review's)
        }
    ]
    assert len(results["action_ids"]) == 1
    assert results["incident_id"] == incident_id and results["spared"] == [
        "regulator",
        "customers",
        "suppliers",
    ]
    # The audit counts the exercise held: the plan's last drill (2026-04-21) is then not overdue.
    day = (T0 + timedelta(days=150)).date()
    overdue = [f for f in audit(plan, today=day) if f.code == "drill-overdue"]
    held = [
        f
        for f in audit(plan, today=day, log=ReviewLog(exercises_held=(T0.date(),)))
        if f.code == "drill-overdue"
    ]
    assert overdue and not held


def test_an_exercise_is_checked_and_runs_one_at_a_time(session_factory: sessionmaker[Session]) -> None:
    plan = plan_in_force(session_factory)
    with unit_of_work(session_factory) as session:
        with pytest.raises(InvalidInput, match=r"scenario\.down: no component 'nope'"):
            plan_exercise(
                session, plan=plan, title="x", down=["nope"], minutes=5, objectives=OBJECTIVES, by="u", now=T0
            )
        with pytest.raises(InvalidInput, match=r"objectives\.0\.group: no stakeholder group 'board'"):
            plan_exercise(
                session,
                plan=plan,
                title="x",
                down=["sbc"],
                minutes=5,
                objectives=[{"kind": "group_told_within", "group": "board"}],
                by="u",
                now=T0,
            )
        with pytest.raises(InvalidInput, match=r"objectives\.0"):
            plan_exercise(
                session,
                plan=plan,
                title="x",
                down=["sbc"],
                minutes=5,
                objectives=[{"kind": "coffee_made"}],
                by="u",
                now=T0,
            )
        a = plan_exercise(
            session, plan=plan, title="a", down=["sbc"], minutes=5, objectives=OBJECTIVES, by="u", now=T0
        )
        b = plan_exercise(
            session, plan=plan, title="b", down=["crm"], minutes=5, objectives=OBJECTIVES, by="u", now=T0
        )
        with pytest.raises(Conflict, match="only a running exercise finishes"):
            finish_exercise(session, exercise_id=a.id, plan=plan, by="u", now=T0)
        start_exercise(session, exercise_id=a.id, plan=plan, by="u", now=T0)
        with pytest.raises(Conflict, match=f"exercise {a.id} is running"):
            start_exercise(session, exercise_id=b.id, plan=plan, by="u", now=T0)
        with pytest.raises(Conflict, match="only a planned exercise starts"):
            start_exercise(session, exercise_id=a.id, plan=plan, by="u", now=T0)
        done = finish_exercise(session, exercise_id=a.id, plan=plan, by="u", now=T0 + timedelta(minutes=1))
        # Nothing correlated: no incident, and the objectives say so rather than pass.
        assert done.results is not None and done.results["passed"] == 0
        assert get_exercise(session, a.id).state == "finished"
    assert SETTINGS.base_url
