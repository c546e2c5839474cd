"""check_scenario: what cannot be simulated, said with what and where; and what the outage does."""

from __future__ import annotations

import pytest
from _plans import component, plan, queue, reference_plan, site, team

from standby.errors import ScenarioInvalid
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.scenario import check_scenario
from standby.impact.simulation import run_impact
from standby.impact.strategies import resolve
from standby.plan.schema import Plan
from standby.plan.topology import Topology

REFERENCE = reference_plan()


def invalid(plan_: Plan, scenario: Scenario, callbacks: tuple[ScheduledCallback, ...] = ()) -> str:
    with pytest.raises(ScenarioInvalid) as caught:
        check_scenario(plan_, scenario, callbacks)
    return str(caught.value)


def test_a_good_scenario_passes() -> None:
    check_scenario(REFERENCE, Scenario(("acd",), 600, 60))
    check_scenario(REFERENCE, Scenario(("trunk-a", "trunk-b"), 480, 720))
    check_scenario(REFERENCE, Scenario(("crm",), 1190, 10), (ScheduledCallback(480, "billing"),))


def test_an_unknown_component_is_named_with_a_suggestion() -> None:
    message = invalid(REFERENCE, Scenario(("acdd",), 600, 60))
    assert "--down" in message and "'acdd'" in message and "did you mean 'acd'?" in message
    assert "did you mean" not in invalid(REFERENCE, Scenario(("zzzz",), 600, 60))


def test_a_site_given_as_a_component_points_at_what_it_depends_on() -> None:
    message = invalid(REFERENCE, Scenario(("leeds",), 600, 60))
    assert "'leeds' is a site, not a component" in message and "'leeds-power'" in message


def test_no_component_at_all() -> None:
    assert "--down names no component" in invalid(REFERENCE, Scenario((), 600, 60))


@pytest.mark.parametrize("minutes", [0, -5])
def test_minutes_must_be_positive(minutes: int) -> None:
    message = invalid(REFERENCE, Scenario(("acd",), 600, minutes))
    assert "--minutes" in message and str(minutes) in message


@pytest.mark.parametrize(("at", "where"), [(420, "07:00"), (1200, "20:00"), (-1, "minute -1")])
def test_the_start_must_be_inside_the_forecast_day(at: int, where: str) -> None:
    message = invalid(REFERENCE, Scenario(("acd",), at, 30))
    assert "--at" in message and where in message and "08:00 to 20:00" in message


def test_the_end_must_be_inside_the_forecast_day() -> None:
    message = invalid(REFERENCE, Scenario(("acd",), 1170, 60))
    assert "--minutes" in message and "at most 30 minutes fit" in message


def test_callbacks_for_unknown_queues_or_outside_the_day() -> None:
    message = invalid(REFERENCE, Scenario(("acd",), 600, 60), (ScheduledCallback(600, "biling"),))
    assert "callback 1 (due 10:00)" in message and "did you mean 'billing'?" in message
    message = invalid(
        REFERENCE,
        Scenario(("acd",), 600, 60),
        (ScheduledCallback(600, "billing"), ScheduledCallback(1300, "moving")),
    )
    assert "callback 2 (due 21:40)" in message and "outside the forecast day" in message


def test_a_plan_without_teams_or_forecast() -> None:
    no_teams = plan(components=[component("acd")], queues=[queue("q", "acd", forecast=_forecast())])
    assert "no teams" in invalid(no_teams, Scenario(("acd",), 600, 30))
    no_forecast = plan(
        components=[component("acd")],
        sites=[site("office")],
        queues=[queue("q", "acd")],
        teams=[team("t", "office", ["q"])],
    )
    assert "no queue in the plan has a forecast" in invalid(no_forecast, Scenario(("acd",), 600, 30))


def test_a_scenario_that_changes_nothing_is_refused() -> None:
    message = invalid(REFERENCE, Scenario(("queue-stats",), 600, 60))
    assert "Queue statistics feed" in message and "the same as without it" in message
    # The VPN loses home working, where nobody works on a normal day.
    assert "the same as without it" in invalid(REFERENCE, Scenario(("vpn",), 600, 60))


def test_a_scenario_no_strategy_covers_is_simulated_and_says_so() -> None:
    p = plan(
        components=[component("acd")],
        sites=[site("office")],
        queues=[queue("q", "acd", patience_s=60, forecast=_forecast())],
        teams=[team("t", "office", ["q"])],
    )
    result = run_impact(p, Scenario(("acd",), 540, 30), replications=2, workers=1)
    assert any("no strategy in the plan covers this outage" in h.text for h in result.happenings)


def test_run_parameters_are_checked() -> None:
    scenario = Scenario(("acd",), 600, 60)
    with pytest.raises(ScenarioInvalid, match="--replications"):
        run_impact(REFERENCE, scenario, replications=0)
    with pytest.raises(ScenarioInvalid, match="--seed"):
        run_impact(REFERENCE, scenario, seed=-1)
    with pytest.raises(ScenarioInvalid, match="workers"):
        run_impact(REFERENCE, scenario, workers=0)
    with pytest.raises(ScenarioInvalid, match="coefficient of variation"):
        run_impact(REFERENCE, scenario, handling_cv=0)
    with pytest.raises(ScenarioInvalid, match="did you mean 'acd'"):
        run_impact(REFERENCE, Scenario(("acdd",), 600, 60))


# ---- what the outage does ------------------------------------------------------------------


def test_the_acd_takes_every_queue_and_the_ivr() -> None:
    found = resolve(REFERENCE, Topology.from_plan(REFERENCE), Scenario(("acd",), 600, 60))
    assert found.unreachable == {"emergency", "billing", "moving"}
    assert found.classification == "total"
    assert found.triggered == ("outage-message",)
    assert not found.moves and not found.deflect


def test_leeds_power_loses_the_site_and_triggers_home_working() -> None:
    found = resolve(REFERENCE, Topology.from_plan(REFERENCE), Scenario(("leeds-power",), 600, 180))
    assert found.lost_sites == {"leeds"}
    assert found.classification == "total"
    assert set(found.triggered) == {"leeds-to-home", "overflow-to-harbour", "outage-message"}
    home = {m.team: m.agents for m in found.moves if m.site == "home"}
    assert home == {"emergency-desk": 9, "billing-team": 30, "sales-team": 9}
    (partner,) = [m for m in found.moves if m.site == "harbour"]
    assert (partner.team, partner.agents, partner.skills, partner.start, partner.end) == (
        None,
        40,
        ("billing", "moving"),
        720,
        780,
    )
    assert found.deflect == {"billing": 0.1, "moving": 0.1}


def test_only_teams_on_shift_before_the_outage_ends_move_and_take_seats() -> None:
    topology = Topology.from_plan(REFERENCE)
    # 10:00 to 13:00: the evening shift (16:00 to 20:00) is not on; it neither moves nor takes seats.
    morning = resolve(REFERENCE, topology, Scenario(("leeds-power",), 600, 180))
    assert "billing-late" not in {m.team for m in morning.moves}
    assert any("leeds-to-home: 48 agents working from home" in h.text for h in morning.happenings)
    # 15:00 to 17:00: the evening shift comes on at 16:00, at home.
    late = resolve(REFERENCE, topology, Scenario(("leeds-power",), 900, 120))
    assert {m.team: m.agents for m in late.moves if m.site == "home"}["billing-late"] == 19  # 32 x 0.6
    # 08:00 to 08:45: the home site is ready at 08:30, and only the gas desk and the early shift are on.
    early = resolve(REFERENCE, topology, Scenario(("leeds-power",), 480, 45))
    assert {m.team for m in early.moves if m.site == "home"} == {"emergency-desk", "billing-team"}


def test_the_crm_slows_emergency_and_billing_and_stops_moving() -> None:
    found = resolve(REFERENCE, Topology.from_plan(REFERENCE), Scenario(("crm",), 600, 60))
    assert found.unreachable == {"moving"}
    assert found.aht_factor == {"emergency": 1.3, "billing": 1.6}
    assert found.classification == "partial"


def test_home_working_needs_the_vpn_too() -> None:
    found = resolve(REFERENCE, Topology.from_plan(REFERENCE), Scenario(("leeds-power", "vpn"), 600, 60))
    assert not [m for m in found.moves if m.site == "home"]
    assert any("cannot move to Home working, which is down too" in h.text for h in found.happenings)


def test_seats_limit_home_working() -> None:
    data = REFERENCE.model_dump(by_alias=True, mode="json")
    for s in data["sites"]:
        if s["id"] == "home":
            s["seats"] = 30
    small = Plan.model_validate(data)
    found = resolve(small, Topology.from_plan(small), Scenario(("leeds-power",), 600, 60))
    home = {m.team: m.agents for m in found.moves if m.site == "home"}
    assert home == {"emergency-desk": 9, "billing-team": 21}  # filled in plan order


def _forecast() -> dict[str, object]:
    return {"interval_minutes": 30, "start": "08:00", "calls": [30] * 8}


def test_an_outage_no_strategy_covers_is_refused_at_the_edges_unless_asked() -> None:
    from standby.impact.scenario import check_covered

    check_covered(REFERENCE, Scenario(("acd",), 600, 60))  # the outage message covers it
    bare = REFERENCE.model_copy(update={"strategies": []})
    with pytest.raises(ScenarioInvalid) as caught:
        check_covered(bare, Scenario(("acd",), 600, 60))
    message = str(caught.value)
    assert "no strategy in the plan covers losing CloudCX routing (ACD) (a total outage)" in message
    assert "--uncovered" in message
    check_scenario(bare, Scenario(("acd",), 600, 60))  # the simulation itself runs it either way
