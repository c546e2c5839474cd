"""The response on a real database: an outage becomes one incident, paged level by level
through the outbox, once, until someone acknowledges.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.config import Settings
from standby.detect.correlation import Correlator
from standby.detect.health import ProbeHealth
from standby.detect.leases import CheckRecord, record_checks, sync_probes
from standby.detect.outages import correlate
from standby.detect.payloads import EventV2
from standby.detect.receivers import ingest_events
from standby.notify.outbox_desk import list_messages
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.plan.versions import record_plan
from standby.respond.incident_service import get_incident, transition
from standby.respond.oncall_service import acknowledge_page
from standby.respond.responder import ResponseSettings, respond_once
from standby.respond.templates import duration_text, local_time
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, OutageRow, PageRow, ProbeRow

# A Tuesday: Dev's week on the platform rotation (handoffs on Mondays at 09:00).
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SETTINGS = ResponseSettings(
    secret="s" * 40,
    base_url="https://standby.example.org",
    config=Settings(database_url="sqlite://", public_url="https://standby.example.org"),
)


def plan_in_force(factory: sessionmaker[Session]) -> Plan:
    text = reference_plan_text()
    plan = load_plan_text(text)
    with unit_of_work(factory) as session:
        record_plan(session, plan=plan, source=text, now=T0, loaded_by="test")
    return plan


def set_probes(factory: sessionmaker[Session], plan: Plan, at: datetime, *, down=(), up=()) -> None:
    with unit_of_work(factory) as session:
        sync_probes(session, plan=plan, now=at)
        shas = dict(session.execute(select(ProbeRow.component_id, ProbeRow.settings_sha)).all())
        records = [
            CheckRecord(c, shas[c], at, False, "refused", None, None, ProbeHealth("down", 3, 0, at))
            for c in down
        ] + [CheckRecord(c, shas[c], at, True, "ok", 1.0, None, ProbeHealth("up", 0, 2, at)) for c in up]
        record_checks(session, worker_id="w", records=records)
    with unit_of_work(factory) as session:
        correlate(session, correlator=Correlator.from_plan(plan), maintenance=(), now=at, holder="w")


def respond(factory: sessionmaker[Session], plan: Plan, at: datetime):
    with unit_of_work(factory) as session:
        return respond_once(session, plan=plan, now=at, settings=SETTINGS, holder="w")


def test_an_outage_is_paged_level_by_level_until_acknowledged(session_factory):
    plan = plan_in_force(session_factory)
    set_probes(session_factory, plan, T0, down=["sbc"], up=["trunk-a", "trunk-b"])
    first = respond(session_factory, plan, T0)
    assert len(first.opened) == 1 and first.pages == 1
    (incident_id,) = first.opened
    # Again, as another worker would: nothing new.
    again = respond(session_factory, plan, T0 + timedelta(seconds=2))
    assert again.opened == [] and again.pages == 0
    with unit_of_work(session_factory) as session:
        messages = list_messages(session, incident_id=incident_id)
        assert sorted((m.channel, m.recipient) for m in messages) == [
            ("email", "dev@northwind.example"),
            ("sms", "+447700900002"),
        ]
        sms = next(m for m in messages if m.channel == "sms")
        assert "SEV1 incident" in sms.body and "https://standby.example.org/ack/" in sms.body
    # Nobody acknowledges within 5 minutes: the manager is paged.
    second = respond(session_factory, plan, T0 + timedelta(minutes=5, seconds=1))
    assert second.pages == 1
    with unit_of_work(session_factory) as session:
        people = session.scalars(select(PageRow.person_id).order_by(PageRow.id)).all()
        assert people == ["dev", "amara"]
        page_id = session.scalars(select(PageRow.id).where(PageRow.person_id == "amara")).one()
        acknowledge_page(session, page_id=page_id, by="user:amara", now=T0 + timedelta(minutes=7), plan=plan)
    assert respond(session_factory, plan, T0 + timedelta(minutes=30)).pages == 0
    with unit_of_work(session_factory) as session:
        incident = session.get_one(IncidentRow, incident_id)
        assert incident.acknowledged_at is not None and incident.state == "acknowledged"
        kinds = [e.kind for e in entries(session, incident_id)]
        assert [k for k in kinds if k in ("state", "page")][:3] == ["state", "page", "page"]
        assert "ack" in kinds
        # A total outage: the plan's outage message for the IVR is proposed to the commander.
        assert "strategy" in kinds


def test_nobody_acknowledges_and_escalation_runs_out(session_factory):
    plan = plan_in_force(session_factory)
    set_probes(session_factory, plan, T0, down=["crm"])
    at = T0
    pages = 0
    for _ in range(20):
        pages += respond(session_factory, plan, at).pages
        at += timedelta(minutes=16)
    # Three levels, repeated twice more: nine steps, then nothing.
    assert pages == 9
    with unit_of_work(session_factory) as session:
        (incident,) = session.scalars(select(IncidentRow)).all()
        texts = [e.text for e in entries(session, incident.id, kind="escalation")]
        assert texts == ["Escalation exhausted: nobody acknowledged after 3 round(s) of policy platform"]


def test_an_outage_in_maintenance_opens_no_incident(session_factory):
    plan = plan_in_force(session_factory)
    set_probes(session_factory, plan, T0, down=["crm"])
    with unit_of_work(session_factory) as session:
        session.execute(IncidentRow.__table__.delete())
        session.execute(OutageRow.__table__.update().values(in_maintenance=True))
    assert respond(session_factory, plan, T0).opened == []


def test_an_outage_that_ends_by_itself_stops_escalation_and_acknowledges_nothing(session_factory):
    # Seen: the end of an outage set acknowledged_at, so pages nobody answered showed a time
    # to acknowledge (34.6 s, 94.3 s, 180.5 s).
    plan = plan_in_force(session_factory)
    set_probes(session_factory, plan, T0, down=["sbc"], up=["trunk-a", "trunk-b"])
    (incident_id,) = respond(session_factory, plan, T0).opened
    set_probes(session_factory, plan, T0 + timedelta(seconds=90), up=["sbc"])
    for minutes in (2, 6, 12, 40):
        respond(session_factory, plan, T0 + timedelta(minutes=minutes))
    with unit_of_work(session_factory) as session:
        record = get_incident(session, incident_id)
        assert record.state == "verifying"
        assert record.acknowledged_at is None and record.timings.to_acknowledge_s is None
        assert record.next_escalation_at is None
        assert session.scalars(select(PageRow.person_id)).all() == ["dev"]  # nobody paged after the end
        assert session.scalars(select(PageRow.acknowledged_at)).all() == [None]
        (stopped,) = entries(session, incident_id, kind="escalation")
        ended_at = session.get_one(OutageRow, record.outage_id).ended_at
        assert stopped.text == "Escalation stopped: the outage ended; nobody acknowledged the pages"
        assert stopped.at == ended_at
        assert not entries(session, incident_id, kind="ack")
        # Someone verifies and resolves it: that is not answering the pages either.
        later = T0 + timedelta(hours=1)
        transition(session, incident_id=incident_id, to="resolved", by="user:amara", now=later)
    with unit_of_work(session_factory) as session:
        record = get_incident(session, incident_id)
        assert record.state == "resolved" and record.acknowledged_at is None
        assert record.timings.to_acknowledge_s is None


def events_v2(action: str, key: str) -> EventV2:
    document: dict[str, object] = {"event_action": action, "dedup_key": key}
    if action == "trigger":
        document["payload"] = {
            "summary": "SBC rejecting INVITEs",
            "source": "sbc-monitor",
            "severity": "critical",
            "custom_details": {"standby_component": "sbc"},
        }
    return EventV2.model_validate(document)


def send_event(factory: sessionmaker[Session], plan: Plan, action: str, key: str, at: datetime) -> None:
    with unit_of_work(factory) as session:
        ingest_events(session, event=events_v2(action, key), plan=plan, receiver="noc-monitoring", now=at)


def test_an_events_v2_acknowledge_acknowledges_the_incident_once_and_stops_escalation(session_factory):
    plan = plan_in_force(session_factory)
    # Acknowledged last week: not an acknowledgement of today's incident.
    send_event(session_factory, plan, "trigger", "old", T0 - timedelta(days=7))
    send_event(session_factory, plan, "acknowledge", "old", T0 - timedelta(days=7))
    set_probes(session_factory, plan, T0, down=["sbc"], up=["trunk-a", "trunk-b"])
    (incident_id,) = respond(session_factory, plan, T0).opened
    send_event(session_factory, plan, "trigger", "sbc-1", T0 + timedelta(minutes=1))
    respond(session_factory, plan, T0 + timedelta(minutes=1, seconds=5))
    with unit_of_work(session_factory) as session:
        assert session.get_one(IncidentRow, incident_id).acknowledged_at is None
    acknowledged = T0 + timedelta(minutes=2, seconds=10)
    send_event(session_factory, plan, "acknowledge", "sbc-1", acknowledged)
    for minutes in (3, 6, 12, 30):  # level 2 was due at 5 minutes
        respond(session_factory, plan, T0 + timedelta(minutes=minutes))
    with unit_of_work(session_factory) as session:
        record = get_incident(session, incident_id)
        assert record.state == "acknowledged" and record.acknowledged_at == acknowledged
        assert record.timings.to_acknowledge_s == (acknowledged - record.detected_at).total_seconds()
        assert session.scalars(select(PageRow.person_id)).all() == ["dev"]
        (ack,) = entries(session, incident_id, kind="ack")
        assert ack.at == acknowledged and ack.actor == "receiver:noc-monitoring"
        assert ack.text.startswith(
            "Acknowledged by noc-monitoring (sbc-monitor) through an Events v2 acknowledge of alert 'sbc-1'"
        )
        assert ack.text.endswith("escalation stops")


def test_the_all_clear_says_when_the_centre_answered_again_not_when_it_was_resolved(session_factory):
    # Seen: the all-clear's "from-to" ran to when someone resolved the incident.
    plan = plan_in_force(session_factory)
    set_probes(session_factory, plan, T0, down=["trunk-a", "trunk-b"])
    (incident_id,) = respond(session_factory, plan, T0).opened
    respond(session_factory, plan, T0 + timedelta(minutes=6))  # past the hold: leadership is told
    set_probes(session_factory, plan, T0 + timedelta(minutes=20), up=["trunk-a", "trunk-b"])
    respond(session_factory, plan, T0 + timedelta(minutes=21))
    with unit_of_work(session_factory) as session:
        outage = session.get_one(OutageRow, session.get_one(IncidentRow, incident_id).outage_id)
        started_at, ended_at = outage.started_at, outage.ended_at
        assert ended_at is not None
        resolved = T0 + timedelta(minutes=45)
        transition(session, incident_id=incident_id, to="resolved", by="user:amara", now=resolved)
    respond(session_factory, plan, T0 + timedelta(minutes=46))
    zone = ZoneInfo(plan.organisation.timezone)
    with unit_of_work(session_factory) as session:
        (all_clear,) = [
            m
            for m in list_messages(session, incident_id=incident_id, limit=1000)
            if m.purpose == "comm-resolved" and m.recipient == "sam@northwind.example"
        ]
    span = f"{local_time(started_at, zone)} to {local_time(ended_at, zone)}"
    assert f"from {span}" in all_clear.body and (all_clear.subject or "").endswith(span)
    assert f"lasted {duration_text(ended_at - started_at)}" in all_clear.body
    assert local_time(T0 + timedelta(minutes=45), zone) not in all_clear.body
