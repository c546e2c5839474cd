"""The status page's pure core: public services, their status, uptime bars, public notices,
planned work, Statuspage's v2 shapes and the Atom feed, from the reference plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import feedparser  # type: ignore[import-untyped]
import pytest
from _plans import reference_plan

from standby.detect.maintenance import windows_from_plan
from standby.errors import PlanInvalid
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.status import statuspage
from standby.status.feed import atom_feed
from standby.status.notices import IncidentFacts, TimelineFact, public_notice
from standby.status.services import Service, indicator, live_facts, public_services, service_status
from standby.status.snapshot import Facts, build_snapshot, status_document
from standby.status.uptime import Downtime, uptime_bar, uptime_text

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
BILLING = Service("billing", "Billing and payments", None, (), ("billing",))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return reference_plan()


def statuses(plan: Plan, states: dict[str, str], degraded: frozenset[str] = frozenset()) -> dict[str, str]:
    facts = live_facts(plan, Topology.from_plan(plan), states, degraded)
    return {s.id: service_status(s, facts, plan) for s in public_services(plan)}


def test_by_default_the_public_services_are_the_queues(plan: Plan) -> None:
    assert [(s.id, s.name, s.queues) for s in public_services(plan)] == [
        ("emergency", "Gas emergency line", ("emergency",)),
        ("billing", "Billing and payments", ("billing",)),
        ("moving", "Moving home (sales)", ("moving",)),
    ]


def test_the_status_follows_the_live_state(plan: Plan) -> None:
    assert set(statuses(plan, {}).values()) == {"operational"}
    assert statuses(plan, {"ivr": "down"}) == {
        "emergency": "operational",
        "billing": "major_outage",
        "moving": "major_outage",
    }
    assert set(statuses(plan, {"acd": "down"}).values()) == {"major_outage"}
    # The CRM slows billing and emergencies down and stops moving home.
    assert statuses(plan, {"crm": "down"}) == {
        "emergency": "degraded_performance",
        "billing": "degraded_performance",
        "moving": "major_outage",
    }
    assert statuses(plan, {"crm": "maintenance"})["moving"] == "under_maintenance"
    assert statuses(plan, {}, frozenset({"billing"}))["billing"] == "degraded_performance"


def test_a_service_of_several_parts_is_partly_out(plan: Plan) -> None:
    service = Service("phone", "Phone lines", None, (), ("emergency", "billing", "moving"))
    facts = live_facts(plan, Topology.from_plan(plan), {"ivr": "down"}, ())
    assert service_status(service, facts, plan) == "partial_outage"
    chat = Service("chat", "Web chat", None, ("crm",), ())
    assert service_status(chat, live_facts(plan, Topology.from_plan(plan), {"crm": "down"}, ()), plan) == (
        "major_outage"
    )


def test_the_indicator_of_the_whole_page() -> None:
    assert indicator(["operational", "operational"]) == "none"
    assert indicator(["operational", "degraded_performance"]) == "minor"
    assert indicator(["operational", "major_outage"]) == "major"
    assert indicator(["partial_outage", "under_maintenance"]) == "major"
    assert indicator(["major_outage", "major_outage"]) == "critical"
    assert indicator(["operational", "under_maintenance"]) == "maintenance"


def test_the_uptime_counts_down_minutes_per_local_day() -> None:
    # 23:30 to 00:40 London time: 30 minutes on the 10th, 40 on the 11th.
    start = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)
    down = [
        Downtime(start, start + timedelta(minutes=70), frozenset(), frozenset({"billing"})),
        # Overlapping the first: counted once.
        Downtime(
            start + timedelta(minutes=10), start + timedelta(minutes=20), frozenset(), frozenset({"billing"})
        ),
        Downtime(start, None, frozenset(), frozenset({"moving"})),  # another service's
    ]
    bar = uptime_bar(BILLING, down, now=NOW, zone=LONDON)
    assert len(bar.days) == 90 and bar.days[-1].day.isoformat() == "2026-06-15"
    by_day = {d.day.isoformat(): d.down_minutes for d in bar.days if d.down_minutes}
    assert by_day == {"2026-06-10": 30.0, "2026-06-11": 40.0}
    assert bar.days[-1].counted_minutes == 10 * 60 + 30  # today up to 10:30 London time
    total = sum(d.counted_minutes for d in bar.days)
    assert bar.uptime_percent == pytest.approx(100 * (1 - 70 / total))
    assert [d.level for d in bar.days if d.down_minutes] == ["some", "some"]


def test_an_open_outage_counts_up_to_now_and_the_percentage_is_never_rounded_up() -> None:
    down = [Downtime(NOW - timedelta(minutes=90), None, frozenset(), frozenset({"billing"}))]
    bar = uptime_bar(BILLING, down, now=NOW, zone=LONDON)
    assert bar.days[-1].down_minutes == 90 and bar.days[-1].level == "much"
    assert uptime_text(99.9999) == "99.99%" and uptime_text(100.0) == "100%"
    assert uptime_text(97.123) == "97.12%"


def fact(i: int, minutes: float, kind: str, said: str = "", **data: Any) -> TimelineFact:
    return TimelineFact(i, NOW + timedelta(minutes=minutes), kind, said, data)


def incident(*timeline: TimelineFact, state: str = "diagnosing") -> IncidentFacts:
    return IncidentFacts(
        id=7,
        state=state,
        detected_at=NOW,
        resolved_at=None,
        started_at=NOW,
        classification="partial",
        components=frozenset({"ivr"}),
        queues=frozenset({"billing", "moving"}),
        timeline=timeline,
    )


def test_only_texts_written_for_the_public_make_a_notice(plan: Plan) -> None:
    services = public_services(plan)
    private = incident(
        fact(1, 0, "note", "CloudCX IVR pods crash-looping"),
        fact(2, 1, "message", "Leadership told", channel="email", phase="detected"),
        fact(3, 2, "message", "held", channel="status_page", phase="detected", skipped="held"),
    )
    assert public_notice(private, services) is None
    told = incident(
        fact(1, 0, "note", "CloudCX IVR pods crash-looping"),
        fact(2, 6, "message", "First", channel="status_page", phase="detected", text="We cannot answer."),
        fact(3, 10, "state", "diagnosing -> recovering", to="recovering"),
        fact(4, 12, "note", "We found the fault.", public=True, status="identified"),
        fact(5, 14, "state", "recovering -> verifying", to="verifying"),
        fact(6, 15, "message", "Update", channel="status_page", phase="update", text="Still working on it."),
    )
    notice = public_notice(told, services)
    assert notice is not None
    assert notice.name == "Service disruption: Billing and payments, Moving home (sales)"
    assert [(u.id, u.status, u.body) for u in notice.updates] == [
        (6, "monitoring", "Still working on it."),
        (4, "identified", "We found the fault."),
        (2, "investigating", "We cannot answer."),
    ]
    assert notice.status == "monitoring" and notice.monitoring_at == NOW + timedelta(minutes=14)
    assert notice.impact == "major" and notice.services == ("billing", "moving")
    assert notice.created_at == NOW + timedelta(minutes=6)


def test_a_resolved_incident_is_a_resolved_notice(plan: Plan) -> None:
    told = incident(
        fact(2, 6, "message", "", channel="status_page", phase="detected", text="We cannot answer."),
        state="resolved",
    )
    notice = public_notice(told, public_services(plan))
    assert notice is not None and notice.status == "resolved" and notice.resolved_at is not None


def snapshot(plan: Plan, **changes: Any) -> Any:
    facts = Facts(
        plan=plan,
        topology=Topology.from_plan(plan),
        states={"ivr": "down"},
        degraded_queues=frozenset(),
        downtimes=[],
        windows=windows_from_plan(plan),
        updated_at=NOW,
        plan_loaded_at=NOW,
        incidents=[
            incident(fact(2, 6, "message", "", channel="status_page", phase="detected", text="Sorry."))
        ],
    )
    for name, value in changes.items():
        object.__setattr__(facts, name, value)
    return build_snapshot(facts, now=NOW)


def test_the_v2_documents_use_statuspage_names_and_values(plan: Plan) -> None:
    shot = snapshot(plan)
    documents = statuspage.documents(shot, "https://status.example")
    summary = documents["summary.json"]
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert summary["page"]["url"] == "https://status.example/status"
    assert [c["status"] for c in summary["components"]] == ["operational", "major_outage", "major_outage"]
    (notice,) = summary["incidents"]
    assert notice["id"] == "7" and notice["incident_updates"][0]["body"] == "Sorry."
    assert notice["shortlink"] == "https://status.example/status/incidents/7"
    # The plan's CRM patching, on Sundays, touches moving home only; announced 30 days ahead.
    works = documents["scheduled-maintenances.json"]["scheduled_maintenances"]
    assert works and all(w["status"] == "scheduled" and w["impact"] == "maintenance" for w in works)
    assert {c["id"] for w in works for c in w["components"]} == {"moving"}
    assert "patch" not in str(works).lower()
    own = status_document(shot, "https://status.example")
    assert own["status"]["indicator"] == "major" and len(own["services"][0]["days"]) == 90


def test_the_feed_is_atom(plan: Plan) -> None:
    feed = feedparser.parse(atom_feed(snapshot(plan), "https://status.example"))
    assert not feed.bozo and feed.version == "atom10"
    (entry,) = feed.entries
    assert entry.link == "https://status.example/status/incidents/7"
    assert entry.id == entry.link and "Sorry." in entry.content[0].value


def test_the_plan_section_is_checked_whole() -> None:
    text = reference_plan_text() + (
        "\nstatus_page:\n  services:\n"
        "    - {id: chat, name: Web chat, components: [crm, crn]}\n"
        "    - {id: chat, name: App, queues: [billing]}\n"
    )
    with pytest.raises(PlanInvalid) as refused:
        load_plan_text(text)
    messages = " ".join(p.message for p in refused.value.problems)
    assert "duplicate public service id 'chat'" in messages
    empty = reference_plan_text() + "\nstatus_page:\n  services:\n    - {id: chat, name: Web chat}\n"
    with pytest.raises(PlanInvalid) as refused:
        load_plan_text(empty)
    assert "at least one of 'components' or 'queues'" in str(refused.value.problems)
    unknown = reference_plan_text() + (
        "\nstatus_page:\n  services:\n    - {id: chat, name: Chat, components: [crmm]}\n"
    )
    with pytest.raises(PlanInvalid) as refused:
        load_plan_text(unknown)
    (problem,) = refused.value.problems
    assert problem.message == "unknown component 'crmm'; did you mean 'crm'?"
    assert problem.line == reference_plan_text().count("\n") + 4
