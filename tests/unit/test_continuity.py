"""Continuity strategies against the live state (pure core): triggers, relocation, the SMS text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _plans import component, plan, queue, reference_plan, site, team

from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.respond.continuity import (
    capacity_now,
    ivr_announcements,
    minute_of_day,
    relocation,
    relocation_sms,
    triggered,
)

# A Monday in June: London is on BST (UTC+1), so 09:30 UTC is 10:30 at the centre.
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def ref() -> Plan:
    return reference_plan()


@pytest.fixture(scope="module")
def topo(ref: Plan) -> Topology:
    return Topology.from_plan(ref)


def fired(
    p: Plan, t: Topology, down: list[str], kinds: list[str] = (), now: datetime = NOW
) -> dict[str, str]:
    found = triggered(p, t, down_components=down, open_outage_classifications=kinds, now=now)
    return {f.strategy_id: f.reason for f in found}


def test_nothing_down_triggers_nothing(ref, topo):
    assert fired(ref, topo, []) == {}


def test_leeds_lost_proposes_home_working_and_the_overflow(ref, topo):
    # Leeds power down: the site is lost, and with it every agent on shift.
    assert fired(ref, topo, ["leeds-power"]) == {
        "leeds-to-home": "site leeds is down",
        "overflow-to-harbour": "capacity 0% of planned agents, below 60%",
    }


def test_leeds_lost_through_both_wan_links(ref, topo):
    assert "leeds-to-home" in fired(ref, topo, ["leeds-wan-1", "leeds-wan-2"])
    assert "leeds-to-home" not in fired(ref, topo, ["leeds-wan-1"])  # the 4G backup holds


def test_home_working_moves_each_teams_home_capable_share(ref, topo):
    strategy = ref.strategies[0]
    moving = relocation(ref, topo, strategy, down_components=["leeds-power"], now=NOW)
    assert moving is not None
    assert [(m.team_id, m.from_site, m.agents) for m in moving.moves] == [
        ("emergency-desk", "leeds", 9),  # 12 x 0.8, rounded down
        ("billing-team", "leeds", 30),  # 50 x 0.6
        ("sales-team", "leeds", 9),  # 19 x 0.5, rounded down
    ]  # billing-late starts at 16:00: none of its agents is on shift to move
    assert moving.agents == 48 and moving.partner_agents == 0
    assert moving.target == "home" and moving.target_kind == "home"
    assert moving.ready_at == NOW + timedelta(minutes=30)  # the home site's activation
    assert moving.queues == ("emergency", "billing", "moving")
    assert moving.moves[0].queues == ("emergency",)
    assert moving.summary(ref) == (
        "48 agents work from home from 11:00 (9 of emergency-desk, 30 of billing-team,"
        " 9 of sales-team), taking Gas emergency line, Billing and payments and Moving home (sales)"
    )
    assert moving.to_dict()["moves"][1] == {
        "team": "billing-team",
        "from": "leeds",
        "agents": 30,
        "queues": ["billing", "moving"],
    }


def test_the_home_site_caps_who_moves_by_its_seats():
    p = plan(
        components=[component("power"), component("vpn")],
        sites=[site("office", "power", seats=100), site("home", "vpn", seats=30, kind="home")],
        queues=[queue("q")],
        teams=[
            team("a", "office", ["q"], agents=20, home_capable=1.0),
            team("b", "office", ["q"], agents=20, home_capable=1.0),
        ],
        strategies=[
            {"id": "go-home", "name": "Home", "when": {"site_down": "office"}, "relocate": {"to": "home"}}
        ],
    )
    moving = relocation(p, Topology.from_plan(p), p.strategies[0], down_components=["power"], now=NOW)
    assert moving is not None
    assert [(m.team_id, m.agents) for m in moving.moves] == [("a", 20), ("b", 10)]


def test_strategies_carried_out_before_took_their_agents_and_seats():
    p = plan(
        components=[component("power")],
        sites=[site("office", "power", seats=100), site("home", seats=50, kind="home")],
        queues=[queue("q")],
        teams=[team("a", "office", ["q"], agents=40, home_capable=1.0)],
        strategies=[
            {"id": "first", "name": "First", "when": {"site_down": "office"}, "relocate": {"to": "home"}},
            {"id": "second", "name": "Second", "when": {"site_down": "office"}, "relocate": {"to": "home"}},
        ],
    )
    t = Topology.from_plan(p)
    first, second = p.strategies
    alone = relocation(p, t, second, down_components=["power"], now=NOW)
    after = relocation(p, t, second, down_components=["power"], now=NOW, before=[first])
    assert alone is not None and alone.agents == 40
    assert after is not None and after.agents == 0 and after.notes


def test_nobody_moves_to_a_home_site_that_is_down_too(ref, topo):
    moving = relocation(ref, topo, ref.strategies[0], down_components=["leeds-power", "identity"], now=NOW)
    assert moving is not None and moving.moves == ()
    assert moving.notes == ("cannot move to Home working, which is down too",)
    assert moving.summary(ref) == "cannot move to Home working, which is down too"


def test_the_overflow_partner_takes_its_queues_with_its_own_agents(ref, topo):
    moving = relocation(ref, topo, ref.strategies[1], down_components=["leeds-power"], now=NOW)
    assert moving is not None
    assert moving.moves == () and moving.partner_agents == 40 and moving.agents == 0
    assert moving.queues == ("billing", "moving")
    assert moving.ready_at == NOW + timedelta(minutes=120)
    assert moving.summary(ref).startswith("Harbour overflow partner, Bristol takes Billing and payments")


def test_a_strategy_that_moves_nobody_has_no_relocation(ref, topo):
    assert relocation(ref, topo, ref.strategies[2], down_components=["leeds-power"], now=NOW) is None


def two_site_plan(**extra):
    sections = {
        "components": [component("power-a"), component("power-b"), component("vpn"), component("sso")],
        **extra,
    }
    return plan(
        sites=[site("a", "power-a", seats=100), site("b", "power-b", seats=100)],
        queues=[queue("q")],
        teams=[
            team("at-a", "a", ["q"], agents=42),
            team("at-b", "b", ["q"], agents=58, shift={"start": "08:00", "end": "14:00"}),
        ],
        **sections,
    )


def test_capacity_below_counts_agents_on_shift_at_available_sites():
    p = two_site_plan(strategies=[{"id": "overflow", "name": "Overflow", "when": {"capacity_below": 0.5}}])
    t = Topology.from_plan(p)
    assert fired(p, t, ["power-b"]) == {"overflow": "capacity 42% of planned agents, below 50%"}
    assert fired(p, t, ["power-a"]) == {}  # 58 of 100 still able to work
    # At 15:00 in London the team at b is off shift: losing b loses nobody.
    afternoon = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
    assert capacity_now(p, {"a"}, minute_of_day(p, afternoon)).share == 1.0
    assert fired(p, t, ["power-b"], now=afternoon) == {}


def test_capacity_with_nobody_planned_on_shift_is_whole_and_triggers_nothing(ref, topo):
    night = datetime(2026, 6, 15, 21, 0, tzinfo=UTC)  # 22:00 in London: every shift has ended
    capacity = capacity_now(ref, set(), minute_of_day(ref, night))
    assert capacity.planned == 0 and capacity.share == 1.0
    assert fired(ref, topo, ["leeds-power"], now=night) == {"leeds-to-home": "site leeds is down"}


def test_shifts_are_read_in_the_plans_time_zone(ref, topo):
    # 07:30 UTC is 08:30 in London: the day shift has started.
    early = datetime(2026, 6, 15, 7, 30, tzinfo=UTC)
    assert minute_of_day(ref, early) == 8 * 60 + 30
    assert "overflow-to-harbour" in fired(ref, topo, ["leeds-power"], now=early)
    # In January London is on UTC: 07:30 UTC is before the shift.
    winter = datetime(2026, 1, 12, 7, 30, tzinfo=UTC)
    assert "overflow-to-harbour" not in fired(ref, topo, ["leeds-power"], now=winter)


def test_outside_the_shift_nobody_moves(ref, topo):
    night = datetime(2026, 6, 15, 21, 0, tzinfo=UTC)
    moving = relocation(ref, topo, ref.strategies[0], down_components=["leeds-power"], now=night)
    assert moving is not None and moving.moves == () and moving.agents == 0
    assert moving.notes == ("nobody is on shift now at Leeds contact centre",)


@pytest.mark.parametrize(
    ("kinds", "reason"),
    [
        (["partial"], "a partial outage is open"),
        (["total"], "a total outage is open"),
        (["total", "partial"], "partial and total outages are open"),
    ],
)
def test_an_open_outage_of_a_listed_class_puts_the_message_on(ref, topo, kinds, reason):
    assert fired(ref, topo, [], kinds) == {"outage-message": reason}


def test_an_outage_of_another_class_does_not(ref, topo):
    assert fired(ref, topo, [], ["degraded"]) == {}


def test_component_down_holds_for_the_component_and_what_takes_it_down():
    p = two_site_plan(
        components=[component("sso"), component("vpn", "sso"), component("power-a"), component("power-b")],
        strategies=[{"id": "vpn-lost", "name": "VPN lost", "when": {"component_down": "vpn"}}],
    )
    t = Topology.from_plan(p)
    assert fired(p, t, ["vpn"]) == {"vpn-lost": "component vpn is down"}
    assert fired(p, t, ["sso"]) == {"vpn-lost": "component vpn is unavailable: something it needs is down"}
    assert fired(p, t, ["power-a"]) == {}


def test_several_conditions_give_every_reason(ref, topo):
    p = ref.model_copy(
        update={
            "strategies": [
                ref.strategies[0].model_copy(
                    update={"when": ref.strategies[0].when.model_copy(update={"outage": ["partial"]})}
                )
            ]
        }
    )
    assert fired(p, Topology.from_plan(p), ["leeds-power"], ["partial"]) == {
        "leeds-to-home": "site leeds is down; a partial outage is open"
    }


def test_components_not_in_the_plan_are_ignored(ref, topo):
    assert fired(ref, topo, ["removed-since"]) == {}


def test_the_sms_says_what_is_down_where_to_log_in_from_when_and_which_queues(ref, topo):
    moving = relocation(ref, topo, ref.strategies[0], down_components=["leeds-power"], now=NOW)
    assert moving is not None
    assert relocation_sms(ref, moving, moving.moves[0], now=NOW) == (
        "Standby: Leeds contact centre is down. Log in from home now (Home-working VPN);"
        " calls reach you from 11:00. Take calls for Gas emergency line."
    )
    ready = relocation_sms(ref, moving, moving.moves[1], now=moving.ready_at)
    assert "calls reach you" not in ready and ready.endswith(
        "Take calls for Billing and payments and Moving home (sales)."
    )


def test_the_sms_to_go_to_another_office():
    p = plan(
        components=[component("power")],
        sites=[site("york", "power", seats=50), site("hull", seats=50)],
        queues=[queue("q")],
        teams=[team("a", "york", ["q"], agents=10)],
        strategies=[
            {"id": "to-hull", "name": "To Hull", "when": {"site_down": "york"}, "relocate": {"to": "hull"}}
        ],
    )
    moving = relocation(p, Topology.from_plan(p), p.strategies[0], down_components=["power"], now=NOW)
    assert moving is not None and moving.agents == 10
    assert relocation_sms(p, moving, moving.moves[0], now=NOW) == (
        "Standby: York is down. Go to Hull and log in there. Take calls for Q."
    )


def test_ivr_announcements_default_their_deflect_share(ref):
    (announcement,) = ivr_announcements(ref.strategies[2])
    assert announcement.index == 0 and announcement.deflect_share == 0.1
    assert announcement.text.startswith("We are sorry")
    assert ivr_announcements(ref.strategies[0]) == []


def _home_plan(shift: dict[str, str]) -> Plan:
    return plan(
        components=[component("power"), component("vpn")],
        sites=[
            site("office", "power", seats=50),
            site("home", "vpn", seats=50, kind="home", activation_minutes=30),
        ],
        queues=[queue("q")],
        teams=[team("a", "office", ["q"], agents=20, home_capable=1.0, shift=shift)],
        strategies=[
            {"id": "go-home", "name": "Home", "when": {"site_down": "office"}, "relocate": {"to": "home"}}
        ],
    )


def test_a_team_on_round_the_clock_moves_when_its_arrival_is_after_midnight():
    """Seen: at 23:45, agents on a 00:00-24:00 shift were not moved, as if their shift ended at midnight."""
    p = _home_plan({"start": "00:00", "end": "24:00"})
    late = datetime(2026, 12, 7, 23, 45, tzinfo=UTC)  # London is on UTC in December
    moving = relocation(p, Topology.from_plan(p), p.strategies[0], down_components=["power"], now=late)
    assert moving is not None
    assert [(m.team_id, m.agents) for m in moving.moves] == [("a", 20)]
    assert moving.ready_at == late + timedelta(minutes=30)


def test_a_team_whose_shift_ends_at_midnight_before_it_could_arrive_does_not_move():
    p = _home_plan({"start": "16:00", "end": "24:00"})
    late = datetime(2026, 12, 7, 23, 45, tzinfo=UTC)
    moving = relocation(p, Topology.from_plan(p), p.strategies[0], down_components=["power"], now=late)
    assert moving is not None and moving.moves == ()
