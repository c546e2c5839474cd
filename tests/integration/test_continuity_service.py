"""Continuity strategies as a service, on SQLite and PostgreSQL: proposed or run, actions sent once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.errors import Conflict, NotFound
from standby.notify.outbox_desk import list_messages
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.respond.continuity_service import approve, complete, decline, evaluate, tick
from standby.respond.incident_service import declare, transition
from standby.respond.ivr_message import current_ivr_message
from standby.respond.strategy_runs import list_runs
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import AgentRow, ComponentStateRow, OutageRow, StrategyRunRow

# A Monday in June: 10:30 in London, the day shift at work.
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Any:
    return lambda: unit_of_work(session_factory)


def automatic_message(plan: Plan) -> Plan:
    """The reference plan with the outage message run at once."""
    strategies = [s.model_copy(update={"automatic": s.id == "outage-message"}) for s in plan.strategies]
    return plan.model_copy(update={"strategies": strategies})


def set_down(uow: Any, *components: str) -> None:
    with uow() as session:
        for cid in components:
            session.add(ComponentStateRow(component_id=cid, state="down", since=NOW, updated_at=NOW))


def open_outage(uow: Any, classification: str = "partial") -> None:
    with uow() as session:
        session.add(
            OutageRow(
                started_at=NOW,
                detected_at=NOW,
                classification=classification,
                peak_classification=classification,
                causes=["leeds-power"],
                components=["leeds-power"],
                sites=["leeds"],
                queues=[],
                degraded_queues=[],
                history={},
                summary="Leeds power down",
                updated_at=NOW,
            )
        )


def new_incident(uow: Any, plan: Plan, title: str = "Leeds is dark") -> int:
    with uow() as session:
        return declare(session, title=title, classification="partial", plan=plan, by="user:amara", now=NOW).id


def add_agents(
    uow: Any, team: str, count: int, *, phone: str | None = "+4477009{:05d}", start: int = 0
) -> None:
    with uow() as session:
        for i in range(start, start + count):
            session.add(
                AgentRow(
                    external_id=f"{team}-{i:03d}",
                    name=f"Agent {team} {i}",
                    team_id=team,
                    phone=phone.format(i + 1000 * len(team)) if phone else None,
                    active=True,
                    updated_at=NOW,
                )
            )


@pytest.fixture
def leeds_down(uow: Any, plan: Plan) -> int:
    """Leeds has lost power and a partial outage is open; returns the incident's id."""
    set_down(uow, "leeds-power")
    open_outage(uow)
    return new_incident(uow, plan)


def messages(uow: Any, incident_id: int) -> list[Any]:
    with uow() as session:
        return sorted(list_messages(session, incident_id=incident_id, limit=1000), key=lambda m: m.key)


def timeline(uow: Any, incident_id: int, kind: str | None = None) -> list[Any]:
    with uow() as session:
        return [e for e in entries(session, incident_id) if kind is None or e.kind == kind]


def test_triggered_strategies_are_proposed_once_with_their_reasons(uow, plan, leeds_down):
    with uow() as session:
        made = evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    assert [(r.strategy_id, r.state, r.reason) for r in made] == [
        ("leeds-to-home", "proposed", "site leeds is down"),
        ("overflow-to-harbour", "proposed", "capacity 0% of planned agents, below 60%"),
        ("outage-message", "proposed", "a partial outage is open"),
    ]
    home = made[0]
    assert home.applies_now and home.decided_at is None and home.proposed_at == NOW
    assert [s.step for s in home.steps] == [
        "Tell agents by SMS to log in from home",
        "Check the VPN and single sign-on are up",
    ]
    assert home.relocation is not None and home.relocation["agents"] == 48
    assert [m["agents"] for m in home.relocation["moves"]] == [9, 30, 9]  # the evening shift is not on
    with uow() as session:
        assert evaluate(session, plan=plan, incident_id=leeds_down, now=NOW + timedelta(seconds=5)) == []
    proposals = timeline(uow, leeds_down, "strategy")
    assert len(proposals) == 3 and proposals[0].actor == "standby"
    assert proposals[0].text.startswith(
        "Proposed: Move Leeds agents to home working (site leeds is down); 48 agents"
    )
    assert messages(uow, leeds_down) == []  # nothing is sent before the commander says so
    with uow() as session:
        assert current_ivr_message(session, plan=plan) is None


def test_an_automatic_strategy_runs_at_once_and_its_message_plays(uow, plan, leeds_down):
    auto = automatic_message(plan)
    with uow() as session:
        made = {r.strategy_id: r for r in evaluate(session, plan=auto, incident_id=leeds_down, now=NOW)}
    message = made["outage-message"]
    assert message.state == "running" and message.decided_by == "standby" and message.decided_at == NOW
    assert made["leeds-to-home"].state == "proposed"
    with uow() as session:
        playing = current_ivr_message(session, plan=auto)
    assert (
        playing is not None and playing.strategy_id == "outage-message" and playing.incident_id == leeds_down
    )
    assert playing.text.startswith("We are sorry") and playing.deflect_share == 0.1 and playing.since == NOW
    published = [e for e in timeline(uow, leeds_down, "action") if e.data.get("event") == "ivr_message"]
    assert len(published) == 1 and published[0].text.startswith("IVR outage message published")
    # Completing the strategy stops the message; so does resolving the incident.
    with uow() as session:
        done = complete(
            session, incident_id=leeds_down, strategy_id="outage-message", by="user:amara", now=NOW, plan=auto
        )
        assert done.state == "done" and done.completed_by == "user:amara" and done.completed_at == NOW
        assert current_ivr_message(session, plan=auto) is None


def test_resolving_the_incident_stops_the_message(uow, plan, leeds_down):
    auto = automatic_message(plan)
    with uow() as session:
        evaluate(session, plan=auto, incident_id=leeds_down, now=NOW)
    with uow() as session:
        transition(session, incident_id=leeds_down, to="resolved", by="user:amara", now=NOW)
    with uow() as session:
        assert current_ivr_message(session, plan=auto) is None
        assert evaluate(session, plan=auto, incident_id=leeds_down, now=NOW) == []


def test_approving_the_relocation_texts_each_moving_agent_exactly_once(uow, plan, leeds_down):
    add_agents(uow, "emergency-desk", 20)  # 9 move (12 x 0.8): the first 9 by external id
    add_agents(uow, "emergency-desk", 1, phone=None, start=20)
    add_agents(uow, "billing-team", 5)  # 30 move: 5 are in the directory
    add_agents(uow, "sales-team", 1, phone="07700 900123")  # national form: refused by the outbox
    with uow() as session:
        session.add(
            AgentRow(
                external_id="left",
                name="Gone",
                team_id="sales-team",
                phone="+447700900999",
                active=False,
                updated_at=NOW,
            )
        )
    with uow() as session:
        evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    later = NOW + timedelta(minutes=2)
    for _ in range(2):  # asked twice (a double click, a retried request): sent once
        with uow() as session:
            record = approve(
                session,
                plan=plan,
                incident_id=leeds_down,
                strategy_id="leeds-to-home",
                by="user:amara",
                now=later,
            )
            assert (
                record.state == "running" and record.decided_by == "user:amara" and record.decided_at == later
            )
        with uow() as session:
            assert evaluate(session, plan=plan, incident_id=leeds_down, now=later) == []
    sms = [m for m in messages(uow, leeds_down) if m.channel == "sms"]
    assert len(sms) == 14
    keys = {m.key for m in sms}
    assert f"strategy:{leeds_down}:leeds-to-home:agent:emergency-desk-000" in keys
    assert f"strategy:{leeds_down}:leeds-to-home:agent:emergency-desk-008" in keys
    assert f"strategy:{leeds_down}:leeds-to-home:agent:emergency-desk-009" not in keys  # the 10th
    assert not any("left" in k or "sales-team" in k for k in keys)
    first = next(m for m in sms if m.key.endswith("emergency-desk-000"))
    assert first.body == (
        "Standby: Leeds contact centre is down. Log in from home now (Home-working VPN);"
        " calls reach you from 11:02. Take calls for Gas emergency line."
    )
    assert first.recipient_name == "Agent emergency-desk 0" and first.purpose == "strategy"
    moved = [e for e in timeline(uow, leeds_down, "action") if e.data.get("event") == "relocation"]
    assert len(moved) == 1 and moved[0].actor == "user:amara" and moved[0].at == later
    assert moved[0].data["sms"] == 14 and moved[0].data["not_in_directory"] == 25 + 8
    assert "SMS queued to 14 agents" in moved[0].text and "could not be told" in moved[0].text
    approvals = [e for e in timeline(uow, leeds_down, "strategy") if e.data.get("event") == "approved"]
    assert (
        len(approvals) == 1
        and approvals[0].text == "Approved by user:amara: Move Leeds agents to home working"
    )


def test_approving_a_webhook_strategy_queues_one_webhook_with_the_incident_facts(uow, plan, leeds_down):
    with uow() as session:
        evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    for _ in range(2):
        with uow() as session:
            approve(
                session,
                plan=plan,
                incident_id=leeds_down,
                strategy_id="overflow-to-harbour",
                by="user:amara",
                now=NOW,
            )
    (hook,) = messages(uow, leeds_down)
    assert hook.channel == "webhook" and hook.recipient == "http://127.0.0.1:8183/routing/overflow"
    assert hook.key == f"strategy:{leeds_down}:overflow-to-harbour:action:0"
    data = hook.payload["data"]
    assert hook.payload["style"] == "generic" and data["target"] == "harbour"
    assert data["incident"]["id"] == leeds_down and data["incident"]["title"] == "Leeds is dark"
    assert data["strategy"] == {
        "id": "overflow-to-harbour",
        "name": "Send billing and moving calls to Harbour",
    }
    assert data["approved_by"] == "user:amara"
    queued = [e for e in timeline(uow, leeds_down, "action") if e.data.get("event") == "webhook"]
    assert len(queued) == 1 and queued[0].text.endswith("POST http://127.0.0.1:8183/…")
    moved = [e for e in timeline(uow, leeds_down, "action") if e.data.get("event") == "relocation"]
    assert moved[0].data["relocation"]["partner_agents"] == 40


def test_runbook_steps_are_ticked_and_unticked_with_who_and_when(uow, plan, leeds_down):
    with uow() as session:
        evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    with uow() as session, pytest.raises(Conflict, match="once it runs"):
        tick(
            session, incident_id=leeds_down, strategy_id="leeds-to-home", step_index=0, by="user:jo", now=NOW
        )
    with uow() as session:
        approve(
            session, plan=plan, incident_id=leeds_down, strategy_id="leeds-to-home", by="user:amara", now=NOW
        )
    at = NOW + timedelta(minutes=5)
    with uow() as session:
        record = tick(
            session,
            incident_id=leeds_down,
            strategy_id="leeds-to-home",
            step_index=1,
            by="user:dev",
            now=at,
            plan=plan,
        )
    assert [(s.done, s.by, s.done_at) for s in record.steps] == [(False, None, None), (True, "user:dev", at)]
    with uow() as session:  # ticking again keeps who did it first
        again = tick(
            session,
            incident_id=leeds_down,
            strategy_id="leeds-to-home",
            step_index=1,
            by="user:lin",
            now=at + timedelta(1),
        )
    assert again.steps[1].by == "user:dev" and again.steps[1].done_at == at
    with uow() as session:
        undone = tick(
            session,
            incident_id=leeds_down,
            strategy_id="leeds-to-home",
            step_index=1,
            by="user:lin",
            now=at,
            done=False,
        )
    assert not undone.steps[1].done and undone.steps[1].by is None
    ticks = timeline(uow, leeds_down, "runbook")
    assert [(e.actor, e.data["event"]) for e in ticks] == [("user:dev", "tick"), ("user:lin", "untick")]
    assert ticks[0].text == (
        "Ticked off by user:dev: step 2 of Move Leeds agents to home working:"
        " Check the VPN and single sign-on are up"
    )
    with uow() as session, pytest.raises(NotFound, match="no step 2"):
        tick(session, incident_id=leeds_down, strategy_id="leeds-to-home", step_index=2, by="user:jo", now=at)
    with uow() as session:
        done = complete(session, incident_id=leeds_down, strategy_id="leeds-to-home", by="user:amara", now=at)
    assert done.state == "done"
    (completed,) = [e for e in timeline(uow, leeds_down, "strategy") if e.data.get("event") == "completed"]
    assert completed.text.endswith("2 of 2 runbook steps not ticked off")


def test_a_declined_strategy_is_not_run_nor_proposed_again(uow, plan, leeds_down):
    with uow() as session:
        evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    for _ in range(2):
        with uow() as session:
            record = decline(
                session,
                incident_id=leeds_down,
                strategy_id="overflow-to-harbour",
                by="user:amara",
                now=NOW,
                plan=plan,
                reason="Harbour is closed today",
            )
    assert record.state == "declined" and record.decided_by == "user:amara"
    with uow() as session:
        assert evaluate(session, plan=plan, incident_id=leeds_down, now=NOW) == []
    with uow() as session, pytest.raises(Conflict, match="declined by user:amara"):
        approve(
            session,
            plan=plan,
            incident_id=leeds_down,
            strategy_id="overflow-to-harbour",
            by="user:sam",
            now=NOW,
        )
    with uow() as session, pytest.raises(Conflict, match="only a running strategy"):
        complete(session, incident_id=leeds_down, strategy_id="overflow-to-harbour", by="user:sam", now=NOW)
    declined = [e for e in timeline(uow, leeds_down, "strategy") if e.data.get("event") == "declined"]
    assert len(declined) == 1 and declined[0].text.endswith("(Harbour is closed today)")
    assert messages(uow, leeds_down) == []
    with uow() as session:
        approve(
            session, plan=plan, incident_id=leeds_down, strategy_id="leeds-to-home", by="user:amara", now=NOW
        )
    with uow() as session, pytest.raises(Conflict, match="can no longer be declined"):
        decline(session, incident_id=leeds_down, strategy_id="leeds-to-home", by="user:amara", now=NOW)


def test_a_strategy_active_in_another_open_incident_is_not_proposed_twice(uow, plan, leeds_down):
    with uow() as session:
        evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    second = new_incident(uow, plan, "Leeds again")
    with uow() as session:
        assert evaluate(session, plan=plan, incident_id=second, now=NOW) == []
        assert list_runs(session, incident_id=second, plan=plan, now=NOW) == []


def test_missing_incidents_and_strategies_are_named(uow, plan, leeds_down):
    with uow() as session, pytest.raises(NotFound, match="no incident 999"):
        evaluate(session, plan=plan, incident_id=999, now=NOW)
    with (
        uow() as session,
        pytest.raises(NotFound, match="'leeds-to-home' has not been proposed for incident"),
    ):
        approve(
            session, plan=plan, incident_id=leeds_down, strategy_id="leeds-to-home", by="user:amara", now=NOW
        )


def test_list_runs_says_whether_each_still_applies(uow, plan, leeds_down):
    with uow() as session:
        evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    with uow() as session:
        session.get(ComponentStateRow, "leeds-power").state = "up"
    with uow() as session:
        runs = list_runs(session, incident_id=leeds_down, plan=plan, now=NOW)
    assert [(r.strategy_id, r.applies_now) for r in runs] == [
        ("leeds-to-home", False),
        ("overflow-to-harbour", False),
        ("outage-message", True),  # the outage is still open
    ]
    with uow() as session:
        rows = session.scalars(select(StrategyRunRow).where(StrategyRunRow.incident_id == leeds_down)).all()
    assert len(rows) == 3


def test_two_commanders_approving_at_once_send_once(uow, plan, leeds_down):
    add_agents(uow, "emergency-desk", 3)
    with uow() as session:
        evaluate(session, plan=plan, incident_id=leeds_down, now=NOW)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def approve_it(by: str) -> None:
        try:
            barrier.wait(timeout=10)
            with uow() as session:
                approve(
                    session, plan=plan, incident_id=leeds_down, strategy_id="leeds-to-home", by=by, now=NOW
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=approve_it, args=(f"user:{n}",)) for n in ("amara", "sam")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len([m for m in messages(uow, leeds_down) if m.channel == "sms"]) == 3
    assert len([e for e in timeline(uow, leeds_down, "strategy") if e.data.get("event") == "approved"]) == 1
    assert len([e for e in timeline(uow, leeds_down, "action") if e.data.get("event") == "relocation"]) == 1
