"""The review after an outage, drafted from the records of a scripted outage: from a probe's death
to resolution, its named times and measures agree with the moments the script recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_response import T0, plan_in_force, respond, set_probes

from standby.customers.callback_service import complete_callback
from standby.detect.correlation import Correlator
from standby.detect.health import ProbeHealth
from standby.detect.leases import CheckRecord, record_checks, sync_probes
from standby.detect.outages import correlate
from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.respond.continuity_service import approve
from standby.respond.incident_service import transition
from standby.respond.oncall_service import acknowledge_page
from standby.review.draft_service import draft_review
from standby.review.markdown import render_markdown
from standby.review.written_service import save_written, sign_off
from standby.store.engine import unit_of_work
from standby.store.tables import CallbackRow, IncidentRow, OutageRow, PageRow, ProbeRow, StrategyRunRow


def book_callback(factory: sessionmaker[Session], due: datetime) -> int:
    with unit_of_work(factory) as session:
        row = CallbackRow(
            customer="Customer 1", phone="+447700900101", customer_key="+447700900101", queue="billing",
            requested_due_at=due, due_at=due, state="scheduled", source="api", created_by="test",
            created_at=T0 - timedelta(days=1), updated_at=T0 - timedelta(days=1),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def probe_dies(
    factory: sessionmaker[Session], plan: Plan, component: str, *, since: datetime, seen: datetime
) -> None:
    """The probe's checks failing since `since`, seen by the worker (and correlated) at `seen`."""
    with unit_of_work(factory) as session:
        sync_probes(session, plan=plan, now=since)
        sha = session.scalars(select(ProbeRow.settings_sha).where(ProbeRow.component_id == component)).one()
        health = ProbeHealth("down", 3, 0, since)
        record_checks(
            session,
            worker_id="w",
            records=[CheckRecord(component, sha, seen, False, "refused", None, None, health)],
        )
    with unit_of_work(factory) as session:
        correlate(session, correlator=Correlator.from_plan(plan), maintenance=(), now=seen, holder="w")


def no_simulation(plan: Plan, outage: object, now: datetime) -> tuple[None, str]:
    return None, "not simulated in this test"


def test_a_scripted_outage_gives_the_review_its_times_and_measures_to_the_second(session_factory):
    plan = plan_in_force(session_factory)
    callback_id = book_callback(session_factory, T0 + timedelta(minutes=12))
    moments: dict[str, datetime] = {}
    # The SBC's probe dies: every queue is lost.
    moments["started"] = T0
    set_probes(session_factory, plan, T0, up=["trunk-a", "trunk-b"])
    moments["detected"] = T0 + timedelta(seconds=4)
    probe_dies(session_factory, plan, "sbc", since=T0, seen=moments["detected"])
    (incident_id,) = respond(session_factory, plan, moments["detected"]).opened
    moments["acknowledged"] = T0 + timedelta(minutes=3, seconds=17)
    with unit_of_work(session_factory) as session:
        page_id = session.scalars(select(PageRow.id).where(PageRow.incident_id == incident_id)).first()
        acknowledge_page(session, page_id=page_id, by="user:dev", now=moments["acknowledged"], plan=plan)
    with unit_of_work(session_factory) as session:
        proposed = session.scalars(
            select(StrategyRunRow.strategy_id).where(StrategyRunRow.incident_id == incident_id)
        ).all()
    assert proposed, "the total outage proposes a strategy"
    moments["mitigated"] = T0 + timedelta(minutes=6, seconds=41)
    with unit_of_work(session_factory) as session:
        approve(
            session, plan=plan, incident_id=incident_id, strategy_id=proposed[0], by="user:amara",
            now=moments["mitigated"],
        )  # fmt: skip
    respond(session_factory, plan, T0 + timedelta(minutes=15))  # the callback's time passes in the outage
    moments["recovered"] = T0 + timedelta(minutes=42, seconds=9)
    set_probes(session_factory, plan, moments["recovered"], up=["sbc"])
    respond(session_factory, plan, moments["recovered"] + timedelta(seconds=5))
    with unit_of_work(session_factory) as session:
        assert session.get_one(IncidentRow, incident_id).state == "verifying"
        assert session.get_one(CallbackRow, callback_id).state == "rescheduled"
    moments["verified"] = moments["resolved"] = T0 + timedelta(minutes=55, seconds=30)
    with unit_of_work(session_factory) as session:
        transition(session, incident_id=incident_id, to="resolved", by="user:amara", now=moments["resolved"])
    moments["callbacks_cleared"] = T0 + timedelta(hours=2, minutes=3, seconds=2)
    with unit_of_work(session_factory) as session:
        complete_callback(session, callback_id=callback_id, now=moments["callbacks_cleared"], by="user:agent")

    with unit_of_work(session_factory) as session:
        outage = session.scalars(select(OutageRow)).one()
        review = draft_review(
            session, incident_id=incident_id, now=T0 + timedelta(hours=3), simulator=no_simulation
        )
    assert (outage.started_at, outage.ended_at) == (moments["started"], moments["recovered"])
    times = {t.name: t.at for t in review.times}
    assert times == moments
    seconds = {m.name: m.seconds for m in review.measures}
    assert seconds == {
        "time_to_detect_s": 4.0,
        "time_to_acknowledge_s": 193.0,
        "time_to_mitigate_s": 397.0,
        "time_to_recover_s": 2525.0,
        "time_to_resolve_s": 3326.0,
        "time_to_clear_callbacks_s": 4853.0,
    }
    assert review.measure("time_to_acknowledge_s").text == "3 min 13 s"
    assert review.as_dict()["time_to_mitigate_s"] == 397.0
    (run,) = [s for s in review.strategies if s.strategy_id == proposed[0]]
    assert (run.decided_by, run.decided_at) == ("user:amara", moments["mitigated"])
    assert run.took_s == (moments["mitigated"] - run.proposed_at).total_seconds()
    assert review.customers["callbacks"]["rescheduled"] == 1
    assert review.customers["callbacks"]["completed"] == 1
    assert review.impact.forecasts == () and review.impact.not_simulated == "not simulated in this test"
    text = render_markdown(review)
    assert "No live forecast was made." in text and "| time_to_acknowledge_s | 3 min 13 s |" in text

    # Written, then signed off: the incident is reviewed, through its own state machine.
    with unit_of_work(session_factory) as session, pytest.raises(Conflict, match="nothing written"):
        sign_off(session, incident_id=incident_id, by="user:amara", now=T0 + timedelta(hours=4))
    with unit_of_work(session_factory) as session:
        save_written(
            session, incident_id=incident_id, texts={"factors": "One SBC, no standby."}, by="user:amara",
            now=T0 + timedelta(hours=4),
        )  # fmt: skip
    with unit_of_work(session_factory) as session:
        sign_off(session, incident_id=incident_id, by="user:amara", now=T0 + timedelta(hours=5))
    with unit_of_work(session_factory) as session:
        row = session.get_one(IncidentRow, incident_id)
        assert (row.state, row.reviewed_at) == ("reviewed", T0 + timedelta(hours=5))
        review = draft_review(
            session, incident_id=incident_id, now=T0 + timedelta(hours=6), simulator=no_simulation
        )
    assert review.written.factors == "One SBC, no standby." and review.written.signed_off_by == "user:amara"
    with unit_of_work(session_factory) as session, pytest.raises(Conflict, match="signed off"):
        save_written(session, incident_id=incident_id, texts={"lucky": "x"}, by="user:amara", now=T0)


def test_an_outage_nobody_acknowledged_says_never(session_factory):
    plan = plan_in_force(session_factory)
    set_probes(session_factory, plan, T0, down=["crm"])
    (incident_id,) = respond(session_factory, plan, T0).opened
    set_probes(session_factory, plan, T0 + timedelta(minutes=4), up=["crm"])
    respond(session_factory, plan, T0 + timedelta(minutes=4, seconds=2))
    with unit_of_work(session_factory) as session:
        before = draft_review(
            session, incident_id=incident_id, now=T0 + timedelta(minutes=5), simulator=no_simulation
        )
        assert before.measure("time_to_acknowledge_s").text == "not yet"
        transition(
            session, incident_id=incident_id, to="resolved", by="user:amara", now=T0 + timedelta(minutes=9)
        )
    with unit_of_work(session_factory) as session:
        review = draft_review(
            session, incident_id=incident_id, now=T0 + timedelta(hours=1), simulator=no_simulation
        )
    figure = review.measure("time_to_acknowledge_s")
    assert (figure.seconds, figure.text) == (None, "never")
    assert review.as_dict()["time_to_acknowledge_s"] is None
    assert review.measure("time_to_clear_callbacks_s").text == "none to clear"
    assert {t.name: t.at for t in review.times}["acknowledged"] is None
    assert review.measure("time_to_recover_s").seconds == 240.0
