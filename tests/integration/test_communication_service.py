"""The communication plan on a real database (SQLite and PostgreSQL): queued once, on the timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.config import Settings
from standby.detect.history import OutageRecord
from standby.errors import NotFound
from standby.notify.outbox_delivery import Outcome, claim_due, record_outcomes, release
from standby.notify.outbox_desk import list_messages
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.respond.agents import import_agents
from standby.respond.communication_service import CommunicationResult, communicate
from standby.respond.deliveries import record_delivery
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import CommunicationRow, IncidentRow

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)  # 10:30 in London
PLAN = load_plan_text(reference_plan_text())
OUTAGE = OutageRecord(
    id=3,
    started_at=T0,
    detected_at=T0 + timedelta(seconds=30),
    ended_at=None,
    classification="total",
    peak_classification="total",
    causes=("trunk-a", "trunk-b"),
    components=("trunk-a", "trunk-b", "sbc", "acd", "ivr"),
    sites=(),
    queues=("emergency", "billing", "moving"),
    degraded_queues=(),
    ever={
        "components": ["trunk-a", "trunk-b", "sbc", "acd", "ivr"],
        "queues": ["emergency", "billing", "moving"],
    },
    in_maintenance=False,
    summary="Total: SIP trunk, Carrier A, SIP trunk, Carrier B down; 3 more components affected",
    merged_into=None,
    plan_version_id=None,
    updated_at=T0,
)
AGENTS = [
    (2, {"external_id": "a1", "name": "Ada Agent", "team": "emergency-desk", "phone": "+44 7700 900101"}),
    (3, {"external_id": "a2", "name": "Bo Agent", "team": "billing-team", "phone": "+447700900102"}),
    (4, {"external_id": "a3", "name": "Cy Agent", "team": "sales-team", "email": "cy@northwind.example"}),
]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def incident(session_factory: sessionmaker[Session]) -> int:
    with unit_of_work(session_factory) as session:
        row = IncidentRow(
            outage_id=OUTAGE.id,
            title="Total outage",
            state="detected",
            severity=1,
            classification="total",
            detected_at=OUTAGE.detected_at,
            updated_at=OUTAGE.detected_at,
        )
        session.add(row)
        import_agents(session, plan=PLAN, rows=AGENTS, now=T0)
        session.flush()
        return row.id


def run(
    factory: sessionmaker[Session],
    incident_id: int,
    minutes: float,
    tmp_path: Path,
    outage: OutageRecord = OUTAGE,
) -> CommunicationResult:
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, public_url="https://standby.example.org")
    with unit_of_work(factory) as session:
        return communicate(
            session, plan=PLAN, incident_id=incident_id, outage=outage, now=at(minutes), settings=settings
        )


def timeline(factory: sessionmaker[Session], incident_id: int, kind: str | None = None) -> list[str]:
    with unit_of_work(factory) as session:
        return [e.text for e in entries(session, incident_id, kind=kind)]


def messages(factory: sessionmaker[Session], incident_id: int) -> list[tuple[str, str, str]]:
    with unit_of_work(factory) as session:
        found = list_messages(session, incident_id=incident_id, limit=1000)
    return sorted((m.purpose, m.channel, m.recipient) for m in found)


def deliver(factory: sessionmaker[Session], recipient: str, minutes: float) -> None:
    """The outbox's record of a delivery the channel confirmed, as the sender writes it."""
    with unit_of_work(factory) as session:
        claimed = claim_due(session, worker_id="w", now=at(minutes), limit=1000, lease=timedelta(minutes=1))
        ids = [m.id for m in claimed if m.recipient == recipient]
        record_outcomes(
            session,
            worker_id="w",
            now=at(minutes),
            outcomes=[Outcome(i, sent=True) for i in ids],
            on_outcome=record_delivery,
        )
        others = [m.id for m in claimed if m.id not in ids]
        release(session, worker_id="w", message_ids=others, now=at(minutes))
    assert ids


def test_the_plan_runs_once_through_an_outage(session_factory, incident, tmp_path) -> None:
    held = run(session_factory, incident, 1, tmp_path)
    assert held.messages == ()
    assert set(held.held) == {"leadership", "regulator", "agents", "customers", "suppliers"}
    assert held.hold_until == at(5)
    run(session_factory, incident, 1.5, tmp_path)
    assert timeline(session_factory, incident) == [
        "Held until 10:35 BST: leadership, regulator, agents, customers, suppliers are told only if the"
        " outage lasts more than 5 minutes (the interruption hold)"
    ]

    told = run(session_factory, incident, 6, tmp_path)
    assert messages(session_factory, incident) == [
        ("comm-detected", "email", "amara@northwind.example"),
        ("comm-detected", "email", "incidents@regulator.example"),
        ("comm-detected", "email", "jo@northwind.example"),
        ("comm-detected", "email", "sam@northwind.example"),
        ("comm-detected", "sms", "+447700900001"),
        ("comm-detected", "sms", "+447700900004"),
        ("comm-detected", "sms", "+447700900005"),
        ("comm-detected", "sms", "+447700900101"),
        ("comm-detected", "sms", "+447700900102"),
    ]
    regulator = next(m for m in told.messages if m.recipient == "incidents@regulator.example")
    assert regulator.subject == (
        "Incident notification from Northwind Energy Customer Care: a total outage since 10:30 BST"
    )
    assert "Services customers cannot reach: Gas emergency line, Billing and payments and Moving home" in (
        regulator.body
    )
    assert regulator.key == f"comm:{incident}:regulator:detected:0:email:incidents@regulator.example"
    assert {(p.group, p.channel) for p in told.publications} == {
        ("customers", "status_page"),
        ("customers", "ivr_message"),
    }
    status = next(p for p in told.publications if p.channel == "status_page")
    assert status.text.startswith("We are sorry: since 10:30 BST we cannot answer calls about Gas emergency")
    # Queued is not told: the deadline is at risk until the channel confirms the delivery.
    assert [(d.group, d.state, d.cause) for d in told.deadlines] == [("regulator", "at_risk", "queued")]
    texts = timeline(session_factory, incident)
    assert "First notice to leadership by email: queued for 3 recipients" in texts
    assert "First notice to agents by SMS: queued for 2 recipients; 1 person without a phone number" in texts
    assert any(t.startswith("First notice for customers, status page text: We are sorry") for t in texts)
    customers_sms = "First notice to customers by SMS: not sent as a notice: customers are told one by one"
    assert any(t.startswith(customers_sms) for t in texts)
    assert any(
        t.startswith("First notice to suppliers (Carrier A (SIP trunks)) by email: not sent")
        and "call +44 20 7946 0200" in t
        for t in texts
    )
    assert timeline(session_factory, incident, "deadline") == [
        "Deadline at risk: regulator not told yet, due by 11:30 BST (within 60 minutes): email to Energy"
        " regulator incident desk queued, not delivered yet"
    ]
    deliver(session_factory, "incidents@regulator.example", 6.5)
    met = run(session_factory, incident, 6.6, tmp_path)
    assert [(d.group, d.state, d.at) for d in met.deadlines] == [("regulator", "met", at(6.5))]
    assert timeline(session_factory, incident, "deadline")[-1] == (
        "Deadline met: regulator told at 10:36 BST, within 60 minutes (due by 11:30 BST): email to Energy"
        " regulator incident desk delivered"
    )

    # Again, every few seconds, as the loop does: nothing new anywhere.
    before = (messages(session_factory, incident), timeline(session_factory, incident))
    again = run(session_factory, incident, 6.65, tmp_path)
    assert again.messages == () and again.deadlines == () and again.publications == ()
    assert (messages(session_factory, incident), timeline(session_factory, incident)) == before

    reminded = run(session_factory, incident, 31, tmp_path)
    assert sorted((m.channel, m.recipient, m.purpose) for m in reminded.reminders) == [
        ("sms", "+447700900005", "comm-reminder"),
        ("sms", "+447700900005", "comm-reminder"),
    ]
    assert timeline(session_factory, incident, "reminder") == [
        "Reminder to Jo Mensah: update 1 to leadership due at 11:06 BST",
        "Reminder to Jo Mensah: update 1 to customers due at 11:06 BST",
    ]
    assert run(session_factory, incident, 32, tmp_path).reminders == ()

    update = run(session_factory, incident, 36, tmp_path)
    assert sorted((m.channel, m.recipient) for m in update.messages) == [
        ("email", "amara@northwind.example"),
        ("email", "jo@northwind.example"),
        ("email", "sam@northwind.example"),
        ("sms", "+447700900001"),
        ("sms", "+447700900004"),
        ("sms", "+447700900005"),
    ]
    sms = next(m for m in update.messages if m.channel == "sms")
    assert sms.body.startswith("Northwind Energy Customer Care update 1: a total outage for 36 minutes.")
    assert "Next update 11:36 BST." in sms.body
    assert {p.phase for p in update.publications} == {"update"}

    ended = replace(OUTAGE, ended_at=at(40))
    resolved = run(session_factory, incident, 40.1, tmp_path, ended)
    assert {m.purpose for m in resolved.messages} == {"comm-resolved"}
    assert len(resolved.messages) == 9
    assert run(session_factory, incident, 41, tmp_path, ended).messages == ()
    with unit_of_work(session_factory) as session:
        rows = {r.stakeholder_id: r for r in session.scalars(select(CommunicationRow))}
    assert rows["leadership"].updates_sent == 1 and rows["leadership"].resolved_told_at == at(40.1)
    assert rows["leadership"].next_update_at is None
    assert rows["regulator"].due_by == at(60.5) and rows["regulator"].first_told_at == at(6)
    assert not rows["regulator"].deadline_missed and rows["regulator"].deadline_step == "met:delivered"


def test_an_interruption_tells_the_held_groups_nothing(session_factory, incident, tmp_path) -> None:
    run(session_factory, incident, 1, tmp_path)
    ended = replace(OUTAGE, ended_at=at(4), classification="interruption")
    result = run(session_factory, incident, 4.2, tmp_path, ended)
    run(session_factory, incident, 30, tmp_path, ended)
    assert run(session_factory, incident, 61, tmp_path, ended).deadlines == ()  # the regulator's too
    assert result.messages == () and result.publications == ()
    assert messages(session_factory, incident) == []
    assert timeline(session_factory, incident, "deadline") == []
    texts = timeline(session_factory, incident)
    assert texts[-1] == (
        "Over within 5 minutes, an interruption: leadership, regulator, agents, customers, suppliers"
        " were not told"
    )
    assert len(texts) == 2


def test_a_template_that_does_not_render_is_parked_with_its_reason(
    session_factory, incident, tmp_path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "regulator.detected.email.j2").write_text(
        "Subject: Notification\nDear desk,\n{{ outage.cause_names }}\n", encoding="utf-8"
    )
    result = run(session_factory, incident, 6, tmp_path)
    (problem,) = result.problems
    assert problem.group == "regulator" and problem.line == 3
    assert problem.template == str(folder / "regulator.detected.email.j2")
    assert "cause_names" in problem.reason
    with unit_of_work(session_factory) as session:
        stored = list_messages(session, incident_id=incident, limit=1000)
    (regulator,) = [m for m in stored if m.recipient == "incidents@regulator.example"]
    # Stored, but parked with the reason: nothing goes out, the outbox says why.
    assert regulator.state == "parked"
    assert regulator.last_error is not None and "does not render" in regulator.last_error
    assert regulator.last_error.endswith(problem.reason) or "cause_names" in regulator.last_error
    assert ("comm-detected", "email", "sam@northwind.example") in messages(session_factory, incident)
    (parked,) = [t for t in timeline(session_factory, incident, "message") if "parked" in t]
    assert parked.startswith(
        f"First notice to regulator by email: not sent, parked: the template does not render: {folder}"
        "/regulator.detected.email.j2:3: "
    )
    (deadline,) = timeline(session_factory, incident, "deadline")
    assert deadline.startswith(
        "Deadline at risk: regulator not told yet, due by 11:30 BST (within 60 minutes): email to Energy"
        " regulator incident desk parked: the template does not render"
    )
    assert deadline.endswith("; Jo Mensah told at once")  # the plan's communications person
    # Not retried every few seconds.
    assert run(session_factory, incident, 6.1, tmp_path).problems == ()
    run(session_factory, incident, 61, tmp_path)
    assert timeline(session_factory, incident, "deadline")[-1].startswith(
        "Deadline missed: regulator not told by 11:30 BST (promised within 60 minutes): email to Energy"
        " regulator incident desk parked: the template does not render"
    )
    with unit_of_work(session_factory) as session:
        query = select(CommunicationRow).where(CommunicationRow.stakeholder_id == "regulator")
        row = session.scalars(query).one()
        assert row.deadline_missed and row.deadline_step == "missed:parked"
        alerts = list_messages(session, incident_id=incident, limit=1000)
    told = [(m.key.split(":")[3], m.channel, m.recipient) for m in alerts if m.purpose == "deadline"]
    assert sorted(told) == [
        ("at_risk", "email", "jo@northwind.example"),
        ("at_risk", "sms", "+447700900005"),
        ("missed", "email", "jo@northwind.example"),
        ("missed", "sms", "+447700900005"),
    ]


def test_a_phone_the_outbox_refuses_is_said_on_the_timeline(session_factory, incident, tmp_path) -> None:
    data = PLAN.model_dump(by_alias=True)
    data["people"][0]["phone"] = "07700 900001"  # national: a gateway cannot know its country
    plan = type(PLAN).model_validate(data)
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    with unit_of_work(session_factory) as session:
        communicate(session, plan=plan, incident_id=incident, outage=OUTAGE, now=at(6), settings=settings)
    prefix = "First notice to leadership by SMS"
    (sms,) = [t for t in timeline(session_factory, incident, "message") if t.startswith(prefix)]
    assert sms.startswith(f"{prefix}: queued for 2 recipients; 1 refused: Amara Okafor: not a phone number")


def test_an_unknown_incident_is_not_found(session_factory, tmp_path) -> None:
    with pytest.raises(NotFound, match="no incident 999"):
        run(session_factory, 999, 6, tmp_path)
