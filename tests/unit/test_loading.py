"""Each class of plan error is reported at the line and column of the offending value."""

from __future__ import annotations

import textwrap

import pytest

from standby.errors import PlanInvalid, PlanProblem
from standby.plan.loading import load_plan_text, reference_plan_text

HEADER = """\
organisation:
  name: Test centre
  timezone: Europe/London
"""


def problems_of(body: str, *, header: str = HEADER) -> list[PlanProblem]:
    text = header + textwrap.dedent(body)
    with pytest.raises(PlanInvalid) as caught:
        load_plan_text(text)
    return caught.value.problems


def only(body: str, **kwargs: str) -> PlanProblem:
    found = problems_of(body, **kwargs)
    assert len(found) == 1, found
    return found[0]


def test_reference_plan_loads_completely():
    plan = load_plan_text(reference_plan_text())
    assert plan.organisation.name == "Northwind Energy Customer Care"
    assert [c.id for c in plan.components][:3] == ["trunk-a", "trunk-b", "sbc"]
    assert plan.queues_by_id["emergency"].forecast is not None
    assert plan.queues_by_id["emergency"].forecast.start == 8 * 60
    assert plan.teams_by_id["billing-team"].shift.end == 16 * 60
    assert plan.teams_by_id["billing-late"].shift.end == 20 * 60
    assert plan.strategies[0].relocate is not None
    assert plan.strategies[0].relocate.from_ == "leeds"
    assert plan.drills.history[0].outcome == "passed"
    assert plan.compensation[1].when.missed_callback is True
    assert plan.vendors[0].support.hours == "24x7"
    probe = plan.components_by_id["trunk-b"].probe
    assert probe is not None and probe.type == "sip_options"


def test_round_trip_by_alias_is_valid_again():
    plan = load_plan_text(reference_plan_text())
    dumped = plan.model_dump(mode="json", by_alias=True)
    assert dumped["strategies"][0]["relocate"]["from"] == "leeds"
    assert dumped["teams"][0]["shift"] == {"start": "08:00", "end": "20:00"}
    assert type(plan).model_validate(dumped) == plan


def test_broken_yaml_points_at_the_break():
    problem = only("vendors:\n  - {id: a, name: [unclosed\n")
    assert problem.line == 6
    assert "broken YAML" in problem.message


def test_misspelt_required_key_is_both_missing_and_unknown():
    found = problems_of(
        """\
        vendors:
          - id: carrier
            nmae: Carrier
        """,
    )
    assert [(p.line, p.column, p.message) for p in found] == [
        (5, 5, "missing required key 'name'"),
        (6, 5, "unknown key 'nmae'; did you mean 'name'?"),
    ]


def test_unknown_key_is_reported_at_the_key_with_suggestion():
    found = problems_of(
        """\
        vendors:
          - id: carrier
            name: Carrier
            contingency_plan_reviewd: 2026-01-01
        """
    )
    assert [(p.line, p.column) for p in found] == [(7, 5)]
    assert "unknown key 'contingency_plan_reviewd'" in found[0].message
    assert "did you mean 'contingency_plan_reviewed'" in found[0].message


def test_unknown_section_with_suggestion():
    problem = only("componnets: []\n")
    assert (problem.line, problem.column) == (4, 1)
    assert "did you mean 'components'" in problem.message


def test_wrong_type_names_field_and_value():
    problem = only(
        """\
        sites:
          - {id: leeds, name: Leeds, seats: many}
        """
    )
    assert (problem.line, problem.column) == (5, 37)
    assert "seats" in problem.message and "whole number" in problem.message


@pytest.mark.parametrize("bad_id", ["Leeds", "leeds_1", "-leeds", "a b"])
def test_bad_ids(bad_id):
    problem = only(f"sites:\n  - {{id: '{bad_id}', name: Leeds, seats: 1}}\n")
    assert problem.line == 5
    assert "not a valid id" in problem.message


def test_bad_date():
    problem = only("vendors:\n  - {id: v, name: V, contingency_plan_reviewed: 2026-02-30}\n")
    assert (problem.line, problem.column) == (5, 49)
    assert "not a date" in problem.message


def test_bad_time_and_unquoted_time():
    found = problems_of(
        """\
        sites: [{id: s, name: S, seats: 1}]
        queues: [{id: q, name: Q, aht_s: 1, service_level: {answer_within_s: 1, target: 0.5}}]
        teams:
          - {id: t, site: s, queues: [q], agents: 1, shift: {start: "25:00", end: 17:00}}
        """
    )
    assert [(p.line, p.column) for p in found] == [(7, 61)]
    assert "not a time of day" in found[0].message


def test_unquoted_time_of_day_is_read_as_time_not_base_60_number():
    plan = load_plan_text(
        HEADER
        + textwrap.dedent(
            """\
            sites: [{id: s, name: S, seats: 1}]
            queues: [{id: q, name: Q, aht_s: 1, service_level: {answer_within_s: 1, target: 0.5}}]
            teams:
              - {id: t, site: s, queues: [q], agents: 1, shift: {start: 10:00, end: 17:30}}
            """
        )
    )
    assert plan.teams[0].shift.start == 600
    assert plan.teams[0].shift.end == 17 * 60 + 30


def test_bad_duration():
    problem = only(
        """\
        components:
          - id: crm
            name: CRM
            probe: {type: tcp, target: "127.0.0.1:1", interval_s: -5}
        """
    )
    assert (problem.line, problem.column) == (7, 59)
    assert "interval_s: must be greater than 0" in problem.message


def test_duplicate_ids_point_at_the_second():
    problem = only(
        """\
        components:
          - {id: crm, name: CRM}
          - {id: crm, name: CRM again}
        """
    )
    assert (problem.line, problem.column) == (6, 10)
    assert "duplicate component id 'crm'" in problem.message and "(line 5)" in problem.message


@pytest.mark.parametrize(
    ("body", "position", "expected"),
    [
        ("components:\n  - {id: a, name: A, vendor: carier}\n", (5, 30), "unknown vendor 'carier'"),
        ("components:\n  - {id: a, name: A, depends_on: [b]}\n", (5, 35), "unknown component 'b'"),
        (
            "components:\n  - {id: b, name: B}\n  - {id: a, name: A, depends_on: [{any_of: [a1, b]}]}\n",
            (6, 45),
            "unknown component 'a1'",
        ),
        ("sites:\n  - {id: s, name: S, seats: 1, queues: [q]}\n", (5, 41), "unknown queue 'q'"),
        (
            "queues: [{id: q, name: Q, aht_s: 1, service_level: {answer_within_s: 1, target: 1}}]\n"
            "teams:\n  - {id: t, site: s, queues: [q], agents: 1, shift: {start: '08:00', end: '09:00'}}\n",
            (6, 19),
            "unknown site 's'",
        ),
        ("rotations:\n  - {id: r, members: [dev], handoff: {time: '09:00'}}\n", (5, 23), "unknown person"),
        (
            "escalation_policies:\n  - {id: p, levels: [{notify: ['rotation:r'], ack_within_minutes: 5}]}\n",
            (5, 32),
            "unknown rotation 'r'",
        ),
        (
            "escalation_policies:\n"
            "  - {id: p, levels: [{notify: ['stakeholder:x'], ack_within_minutes: 5}]}\n",
            (5, 32),
            "unknown stakeholder group 'x'",
        ),
        ("stakeholders:\n  - {id: g, kind: leadership, teams: [t]}\n", (5, 39), "unknown team 't'"),
        (
            "escalation_policies:\n  - {id: p, levels: [{notify: [sam], ack_within_minutes: 5}]}\n",
            (5, 32),
            "unknown person 'sam'",
        ),
        ("impact_tolerances:\n  - {queue: q, max_outage_minutes: 5}\n", (5, 13), "unknown queue 'q'"),
    ],
)
def test_references_to_ids_that_do_not_exist(body, position, expected):
    problem = only(body)
    assert (problem.line, problem.column) == position
    assert expected in problem.message


def test_reference_suggests_a_close_id():
    problem = only(
        """\
        components:
          - {id: leeds-wan-1, name: WAN}
          - {id: router, name: Router, depends_on: [leeds-wan1]}
        """
    )
    assert "did you mean 'leeds-wan-1'" in problem.message


def test_dependency_cycle_reported_with_its_path():
    problem = only(
        """\
        components:
          - {id: a, name: A, depends_on: [c]}
          - {id: b, name: B, depends_on: [a]}
          - {id: c, name: C, depends_on: [{any_of: [b, a]}]}
        """
    )
    assert (problem.line, problem.column) == (5, 35)
    assert "dependency cycle: a -> c -> a" in problem.message


def test_self_dependency_is_a_cycle():
    problem = only("components:\n  - {id: a, name: A, depends_on: [a]}\n")
    assert "dependency cycle: a -> a" in problem.message


def test_forecast_that_does_not_fit_the_day():
    problem = only(
        """\
        queues:
          - id: q
            name: Q
            aht_s: 300
            service_level: {answer_within_s: 20, target: 0.8}
            forecast: {interval_minutes: 60, start: "22:00", calls: [1, 2, 3]}
        """
    )
    assert (problem.line, problem.column) == (9, 15)
    assert "runs 60 minutes past midnight" in problem.message


@pytest.mark.parametrize("field", ["retry_share", "vulnerable_share"])
def test_shares_outside_zero_to_one(field):
    problem = only(
        f"""\
        queues:
          - id: q
            name: Q
            aht_s: 300
            service_level: {{answer_within_s: 20, target: 0.8}}
            {field}: 1.2
        """
    )
    assert (problem.line, problem.column) == (9, 5 + len(field) + 2)
    assert f"{field}: must be at most 1" in problem.message


def test_service_level_target_outside_zero_to_one():
    problem = only(
        "queues:\n  - {id: q, name: Q, aht_s: 3, service_level: {answer_within_s: 20, target: -0.1}}\n"
    )
    assert "target: must be at least 0" in problem.message


def test_shift_that_ends_before_it_starts():
    problem = only(
        """\
        sites: [{id: s, name: S, seats: 1}]
        queues: [{id: q, name: Q, aht_s: 1, service_level: {answer_within_s: 1, target: 0.5}}]
        teams:
          - {id: t, site: s, queues: [q], agents: 1, shift: {start: "20:00", end: "08:00"}}
        """
    )
    assert problem.line == 7
    assert "the shift ends at 08:00, not after it starts at 20:00" in problem.message


def test_relocation_to_a_site_that_cannot_take_the_queue():
    found = problems_of(
        """\
        sites:
          - {id: leeds, name: Leeds, seats: 10}
          - {id: partner, name: P, kind: partner, seats: 5, queues: [billing]}
        queues:
          - {id: billing, name: B, aht_s: 1, service_level: {answer_within_s: 1, target: 0.5}}
          - {id: emergency, name: E, aht_s: 1, service_level: {answer_within_s: 1, target: 0.5}}
        teams:
          - {id: t, site: leeds, queues: [emergency], agents: 1, shift: {start: "08:00", end: "09:00"}}
        strategies:
          - id: a
            name: Named queue the partner does not take
            when: {site_down: leeds}
            relocate: {to: partner, queues: [emergency]}
          - id: b
            name: No team at leeds answers what the partner takes
            when: {site_down: leeds}
            relocate: {from: leeds, to: partner}
        """
    )
    assert [(p.line, p.column) for p in found] == [(16, 38), (20, 33)]
    assert "site 'partner' cannot take queue 'emergency'" in found[0].message
    assert "cannot take any queue answered at 'leeds'" in found[1].message


def test_every_problem_is_reported_at_once_and_in_file_order():
    found = problems_of(
        """\
        vendors:
          - {id: Bad, name: V}
        components:
          - {id: a, name: A, kind: sip_trunck, depends_on: [ghost]}
          - {id: b, name: B, depends_on: [b]}
        teams:
          - {id: t, site: nowhere, queues: [q], agents: -1, shift: {start: "09:00", end: "08:00"}}
        """
    )
    lines = [p.line for p in found]
    assert lines == sorted(lines)
    messages = " | ".join(p.message for p in found)
    for expected in [
        "not a valid id",
        "did you mean 'sip_trunk'",
        "unknown component 'ghost'",
        "dependency cycle: b -> b",
        "unknown site 'nowhere'",
        "unknown queue 'q'",
        "agents: must be at least 0",
        "the shift ends at 08:00",
    ]:
        assert expected in messages


def test_missing_organisation_and_non_mapping_plan():
    assert only("", header="vendors: []\n").message == "missing required section 'organisation'"
    with pytest.raises(PlanInvalid) as caught:
        load_plan_text("- just\n- a list\n")
    assert "a plan is a mapping" in caught.value.problems[0].message


def test_unknown_probe_type_and_missing_heartbeat_interval():
    found = problems_of(
        """\
        components:
          - {id: a, name: A, probe: {type: htp, target: "http://x"}}
          - {id: b, name: B, probe: {type: heartbeat}}
        """
    )
    assert "did you mean 'http'" in found[0].message
    assert (found[0].line, found[0].column) == (5, 36)
    assert found[1].message == "missing required key 'every_s'"


def test_render_format_is_plan_line_column_message():
    problem = PlanProblem(3, 7, "unknown key 'x'")
    assert problem.render("plan.yaml") == "plan.yaml:3:7: unknown key 'x'"
