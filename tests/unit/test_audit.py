"""The platform audit: each check fires when it should and only then."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from _plans import any_of, component, plan, queue, reference_plan, site, team
from hypothesis import given
from hypothesis import strategies as st

from standby.plan.audit import audit, count_by_severity
from standby.plan.audit_reviews import add_months
from standby.plan.findings import Finding
from standby.plan.report import audit_json, audit_summary
from standby.plan.schema import Plan
from standby.plan.topology import Topology

TODAY = date(2026, 11, 22)


def codes(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.code, f.subject) for f in findings}


def of(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


# ---- months -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 4, 21), 6, date(2026, 10, 21)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 10), -13, date(2024, 12, 10)),
        (date(2026, 5, 5), 0, date(2026, 5, 5)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2900, 1, 1)), st.integers(-600, 600))
def test_add_months_moves_whole_months_and_never_past_the_day(day: date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day
    assert later.day == day.day or (later + timedelta(days=1)).day == 1


# ---- the reference plan ------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_findings() -> list[Finding]:
    return audit(reference_plan(), today=TODAY)


def test_reference_plan_findings(reference_findings: list[Finding]) -> None:
    assert codes(reference_findings) == {
        ("single-point-of-failure", "sbc"),
        ("single-point-of-failure", "acd"),
        ("single-point-of-failure", "ivr"),
        ("single-point-of-failure", "crm"),
        ("single-point-of-failure", "identity"),
        ("single-point-of-failure", "leeds-power"),
        ("single-point-of-failure", "vpn"),
        ("end-of-life", "sbc"),
        ("vendor-review-overdue", "carrier-b"),
        ("vendor-review-overdue", "cloudcx"),
        ("drill-overdue", "drills"),
        ("no-probe", "leeds-power"),
        ("no-probe", "leeds-wan-1"),
        ("no-probe", "leeds-wan-2"),
    }


def test_reference_plan_details(reference_findings: list[Finding]) -> None:
    by = {(f.code, f.subject): f for f in reference_findings}
    sbc = by["single-point-of-failure", "sbc"]
    assert sbc.severity == "high"
    assert sbc.details["queues_unreachable"] == ["emergency", "billing", "moving"]
    assert "Session border controller (sbc)" in sbc.message
    assert "Gas emergency line, Billing and payments and Moving home (sales)" in sbc.message
    identity = by["single-point-of-failure", "identity"]
    assert identity.details["sites"] == ["leeds", "home"]
    assert identity.details["components"] == ["vpn"]
    # The manager's next question: can the plan's relocation help?
    assert "'Move Leeds agents to home working' cannot help: Home working is lost too" in identity.message
    power = by["single-point-of-failure", "leeds-power"]
    assert "moves agents to Home working after 30 minutes" in power.message
    assert by["single-point-of-failure", "vpn"].severity == "medium"
    eol = by["end-of-life", "sbc"]
    assert eol.severity == "high"
    assert "2026-09-30" in eol.message and "53 days ago" in eol.message
    assert by["vendor-review-overdue", "carrier-b"].details["due"] == "2025-06-01"
    assert by["vendor-review-overdue", "cloudcx"].details["due"] == "2026-10-14"
    drill = by["drill-overdue", "drills"]
    assert drill.details == {
        "last": "2026-04-21",
        "due": "2026-10-21",
        "days_overdue": 32,
        "every_months": 6,
    }
    assert by["no-probe", "leeds-power"].severity == "low"


def test_findings_are_sorted_and_serialisable(reference_findings: list[Finding]) -> None:
    severities = [f.severity for f in reference_findings]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)
    highs = [f.subject for f in reference_findings if f.severity == "high"]
    assert highs == sorted(highs)
    document = audit_json("plan.yaml", TODAY, reference_findings)
    assert json.loads(json.dumps(document))["counts"] == {"high": 7, "medium": 4, "low": 3}
    assert count_by_severity([]) == {"high": 0, "medium": 0, "low": 0}
    assert audit_summary(reference_findings) == "14 findings: 7 high, 4 medium, 3 low."


def test_a_topology_can_be_passed_in() -> None:
    p = reference_plan()
    assert audit(p, today=TODAY, topology=Topology.from_plan(p)) == audit(p, today=TODAY)


def test_nothing_is_overdue_the_day_the_plan_was_reviewed() -> None:
    found = codes(audit(reference_plan(), today=date(2026, 3, 2)))
    assert ("vendor-review-overdue", "cloudcx") not in found
    assert ("drill-overdue", "drills") not in found
    assert ("end-of-life-soon", "sbc") not in found  # more than 90 days ahead
    assert ("end-of-life", "sbc") not in found


# ---- each check on its own -----------------------------------------------------------------


def small(**overrides: Any) -> Plan:
    """A healthy small plan: two trunks, two staffed sites, reviewed and drilled."""
    sections: dict[str, Any] = {
        "organisation": {"name": "Test centre", "plan_reviewed": "2026-06-01"},
        "vendors": [{"id": "carrier", "name": "Carrier", "contingency_plan_reviewed": "2026-06-01"}],
        "components": [
            component("trunk-a", probe={"type": "heartbeat", "every_s": 60}),
            component("trunk-b", probe={"type": "heartbeat", "every_s": 60}),
        ],
        "sites": [site("north", any_of("trunk-a", "trunk-b")), site("south")],
        "queues": [queue("sales", any_of("trunk-a", "trunk-b"))],
        "teams": [team("north-desk", "north", ["sales"]), team("south-desk", "south", ["sales"])],
        "stakeholders": [
            {"id": "leaders", "kind": "leadership", "members": ["ann"], "channels": ["email"]},
            {"id": "public", "kind": "customers", "channels": ["status_page"]},
        ],
        "people": [{"id": "ann", "name": "Ann"}],
        "impact_tolerances": [{"queue": "sales", "max_outage_minutes": 60}],
        "drills": {"every_months": 6, "history": [{"date": "2026-09-01", "kind": "x", "outcome": "passed"}]},
    }
    sections.update(overrides)
    return Plan.model_validate(sections)


def test_a_healthy_plan_has_no_findings() -> None:
    assert audit(small(), today=TODAY) == []


def test_end_of_life_past_today_and_soon() -> None:
    def eol(day: str) -> list[Finding]:
        pbx = component("pbx", version="9", end_of_life=day, probe={"type": "heartbeat", "every_s": 60})
        p = small(components=[*small().components, pbx])
        found = audit(p, today=TODAY)
        assert all(f.code.startswith("end-of-life") for f in found)
        return found

    assert [(f.code, f.severity) for f in eol("2026-11-21")] == [("end-of-life", "high")]
    assert "ended today" in eol("2026-11-22")[0].message
    assert [(f.code, f.severity) for f in eol("2027-02-20")] == [("end-of-life-soon", "medium")]
    assert "in 90 days" in eol("2027-02-20")[0].message
    assert eol("2027-02-21") == []


def test_vendor_review() -> None:
    never = small(vendors=[{"id": "carrier", "name": "Carrier"}])
    assert [f.message for f in of(audit(never, today=TODAY), "vendor-review-overdue")] == [
        "The contingency plan of Carrier (carrier) has never been reviewed: ask for it and"
        " review it, then every 12 months."
    ]
    six = [
        {
            "id": "carrier",
            "name": "Carrier",
            "contingency_plan_reviewed": "2026-05-21",
            "review_every_months": 6,
        }
    ]
    assert of(audit(small(vendors=six), today=date(2026, 11, 21)), "vendor-review-overdue") == []
    late = of(audit(small(vendors=six), today=date(2026, 11, 22)), "vendor-review-overdue")
    assert late[0].details["days_overdue"] == 1 and "(1 day overdue)" in late[0].message


def test_plan_review() -> None:
    never = small(organisation={"name": "Test centre"})
    assert of(audit(never, today=TODAY), "plan-review-overdue")[0].details["reviewed"] is None
    old = small(organisation={"name": "T", "plan_reviewed": "2025-08-31", "review_every_months": 6})
    (finding,) = of(audit(old, today=TODAY), "plan-review-overdue")
    assert finding.details["due"] == "2026-02-28"
    assert finding.section == "organisation" and finding.severity == "medium"


def test_drills() -> None:
    none = small(drills={"every_months": 6, "history": []})
    assert "No drill has ever been held" in of(audit(none, today=TODAY), "drill-overdue")[0].message
    # The latest drill counts, whatever order the history is written in.
    history = [
        {"date": "2026-06-01", "kind": "site-loss", "outcome": "passed"},
        {"date": "2025-01-01", "kind": "old", "outcome": "failed"},
    ]
    recent = small(drills={"every_months": 6, "history": history})
    assert of(audit(recent, today=date(2026, 12, 1)), "drill-overdue") == []
    assert of(audit(recent, today=date(2026, 12, 2)), "drill-overdue")[0].details["due"] == "2026-12-01"


def test_components_without_probe() -> None:
    p = small(components=[*small().components, component("ups")])
    found = of(audit(p, today=TODAY), "no-probe")
    assert [(f.subject, f.severity) for f in found] == [("ups", "low")]


def test_queue_without_impact_tolerance() -> None:
    p = small(impact_tolerances=[])
    assert codes(audit(p, today=TODAY)) == {("no-impact-tolerance", "sales")}


def test_single_point_of_failure_losing_only_a_site_is_medium() -> None:
    p = small(sites=[site("north", "trunk-a"), site("south")])
    (finding,) = of(audit(p, today=TODAY), "single-point-of-failure")
    assert (finding.subject, finding.severity) == ("trunk-a", "medium")
    assert finding.details["sites"] == ["north"]
    assert "North is lost" in finding.message


def test_queue_nobody_is_skilled_for() -> None:
    p = small(
        queues=[queue("sales"), queue("loans")],
        impact_tolerances=[{"queue": q, "max_outage_minutes": 60} for q in ("sales", "loans")],
    )
    found = audit(p, today=TODAY)
    assert codes(found) == {("queue-no-agents", "loans")}


def site_loss(p: Plan) -> list[tuple[str, str]]:
    return [(f.subject, f.details["site"]) for f in of(audit(p, today=TODAY), "site-loss-unanswered")]


LEEDS_ONLY: dict[str, Any] = {
    "sites": [
        site("leeds", seats=50),
        site("home", kind="home", seats=20),
        site("partner", kind="partner", seats=10, queues=["billing"]),
    ],
    "queues": [queue("billing"), queue("sales")],
    "teams": [
        team("desk", "leeds", ["billing"], agents=10, home_capable=0.5),
        team("sellers", "leeds", ["sales"], agents=10, home_capable=0.05),
    ],
    "impact_tolerances": [{"queue": q, "max_outage_minutes": 60} for q in ("billing", "sales")],
}


def test_site_loss_without_strategies_loses_every_queue() -> None:
    assert site_loss(small(**LEEDS_ONLY)) == [("billing", "leeds"), ("sales", "leeds")]


def test_site_loss_home_takes_only_the_home_capable() -> None:
    home = [
        {
            "id": "go-home",
            "name": "Go home",
            "when": {"site_down": "leeds"},
            "relocate": {"from": "leeds", "to": "home"},
        }
    ]
    # 10 sellers x 0.05 is half an agent: nobody can take sales from home.
    assert site_loss(small(**LEEDS_ONLY, strategies=home)) == [("sales", "leeds")]


def test_site_loss_partner_takes_only_its_queues() -> None:
    partner = [
        {"id": "overflow", "name": "Overflow", "when": {"capacity_below": 0.5}, "relocate": {"to": "partner"}}
    ]
    assert site_loss(small(**LEEDS_ONLY, strategies=partner)) == [("sales", "leeds")]


def test_site_loss_strategy_for_another_site_or_full_target_does_not_help() -> None:
    other = [{"id": "x", "name": "X", "when": {"site_down": "home"}, "relocate": {"to": "partner"}}]
    assert len(site_loss(small(**LEEDS_ONLY, strategies=other))) == 2
    wrong_from = [
        {
            "id": "x",
            "name": "X",
            "when": {"capacity_below": 0.5},
            "relocate": {"from": "home", "to": "partner"},
        }
    ]
    assert len(site_loss(small(**LEEDS_ONLY, strategies=wrong_from))) == 2
    full = dict(LEEDS_ONLY, sites=[site("leeds", seats=50), site("home", kind="home", seats=0)])
    home = [
        {
            "id": "go-home",
            "name": "Go home",
            "when": {"site_down": "leeds"},
            "relocate": {"to": "home", "queues": ["billing"]},
        }
    ]
    assert len(site_loss(small(**full, strategies=home))) == 2


def test_site_loss_restricted_relocation_and_office_target() -> None:
    sites = [site("leeds", seats=50), site("york", seats=30)]
    teams = [*LEEDS_ONLY["teams"], team("york-desk", "york", ["billing"], agents=20)]
    move = [
        {
            "id": "to-york",
            "name": "To York",
            "when": {"site_down": "leeds"},
            "relocate": {"from": "leeds", "to": "york", "queues": ["sales"]},
        }
    ]
    p = small(**dict(LEEDS_ONLY, sites=sites, teams=teams), strategies=move)
    # York answers billing itself and the ten spare seats take the sellers.
    assert site_loss(p) == []
    without_move = small(**dict(LEEDS_ONLY, sites=sites, teams=teams))
    assert site_loss(without_move) == [("sales", "leeds")]


def test_reference_plan_survives_the_loss_of_leeds() -> None:
    assert of(audit(reference_plan(), today=TODAY), "site-loss-unanswered") == []
    without_home = reference_plan().model_dump(by_alias=True, exclude_none=True)
    without_home["strategies"] = [s for s in without_home["strategies"] if s["id"] != "leeds-to-home"]
    found = site_loss(Plan.model_validate(without_home))
    assert found == [("emergency", "leeds")]


def test_stakeholders() -> None:
    groups = [
        {"id": "board", "kind": "leadership", "members": ["ann"]},
        {"id": "ghosts", "kind": "regulator", "channels": ["email"]},
        {"id": "public", "kind": "customers", "channels": ["status_page"]},
        {"id": "suppliers", "kind": "vendors", "channels": ["email"]},
        {"id": "agents", "kind": "employees", "teams": ["north-desk"], "channels": ["sms"]},
    ]
    found = audit(small(stakeholders=groups), today=TODAY)
    assert codes(found) == {("stakeholders-no-channel", "board"), ("stakeholders-empty", "ghosts")}
    assert all(f.section == "stakeholders" and f.severity == "medium" for f in found)


def test_minimal_plan_audits_without_error() -> None:
    found = audit(plan(), today=TODAY)
    assert codes(found) == {("plan-review-overdue", "plan"), ("drill-overdue", "drills")}


def test_sort_order_is_severity_then_section_then_subject() -> None:
    p = plan(
        components=[component("b-ups"), component("a-ups")],
        sites=[site("office", "b-ups")],
        queues=[queue("calls", "a-ups")],
        teams=[team("desk", "office", ["calls"])],
    )
    found = audit(p, today=TODAY)
    assert [(f.severity, f.section, f.subject, f.code) for f in found] == [
        ("high", "components", "a-ups", "single-point-of-failure"),
        ("high", "components", "b-ups", "single-point-of-failure"),
        ("high", "queues", "calls", "site-loss-unanswered"),
        ("medium", "organisation", "plan", "plan-review-overdue"),
        ("medium", "queues", "calls", "no-impact-tolerance"),
        ("medium", "drills", "drills", "drill-overdue"),
        ("low", "components", "a-ups", "no-probe"),
        ("low", "components", "b-ups", "no-probe"),
    ]


# ---- bounded blast radius -------------------------------------------------------------


def chain_plan(n: int, *, sites: int = 1) -> Plan:
    """c0 <- c1 <- ... <- c(n-1); every site and the queue need the last one."""
    chain = [component("c0")] + [component(f"c{i}", f"c{i - 1}") for i in range(1, n)]
    offices = [site(f"office-{s}", f"c{n - 1}") for s in range(sites)]
    strategies = [
        {
            "id": "office-0-to-spare",
            "name": "Office 0 to the spare",
            "when": {"site_down": "office-0"},
            "relocate": {"from": "office-0", "to": f"office-{sites - 1}"},
        }
    ]
    return plan(
        components=chain,
        sites=[*offices, site("spare")],
        queues=[queue("sales", f"c{n - 1}")],
        teams=[team("desk", "office-0", ["sales"])],
        strategies=strategies,
    )


def test_a_single_point_of_failure_names_the_first_few_and_counts_the_rest() -> None:
    findings = of(audit(chain_plan(40), today=TODAY), "single-point-of-failure")
    first = next(f for f in findings if f.subject == "c0")
    assert first.details["components"] == [f"c{i}" for i in range(1, 11)]
    assert first.details["components_count"] == 39
    assert first.details["sites"] == ["office-0"] and first.details["sites_count"] == 1
    assert first.details["queues_unreachable"] == ["sales"]
    assert first.details["queues_unanswered_count"] == 0
    assert first.details["complete"] is False
    assert "It also takes down C1, C2, C3, C4, C5 and 34 more." in first.message
    last = next(f for f in findings if f.subject == "c39")
    assert last.details["components"] == [] and last.details["complete"] is True
    json.dumps([f.to_dict() for f in findings])


def test_full_names_everything_a_single_point_of_failure_takes_down() -> None:
    p = chain_plan(40)
    bounded = of(audit(p, today=TODAY), "single-point-of-failure")
    full = of(audit(p, today=TODAY, full=True), "single-point-of-failure")
    first = next(f for f in full if f.subject == "c0")
    assert first.details["components"] == [f"c{i}" for i in range(1, 40)]
    assert first.details["components_count"] == 39 and first.details["complete"] is True
    # The same findings, in the same order, saying the same thing: only the lists grow.
    assert [(f.subject, f.message) for f in full] == [(f.subject, f.message) for f in bounded]


def test_a_relocation_target_lost_beyond_the_names_shown_is_still_seen() -> None:
    # office-0 moves to office-11, lost too but not among the first ten sites named.
    (finding, *_) = of(audit(chain_plan(3, sites=12), today=TODAY), "single-point-of-failure")
    assert finding.details["sites_count"] == 12 and "office-11" not in finding.details["sites"]
    assert "'Office 0 to the spare' cannot help: Office-11 is lost too." in finding.message
