"""The centre during an outage (pure core): queues hit, agents able to work after relocation, the
expected service (Erlang A, checked against the Erlang API's own figures), tolerance and sites lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _plans import plan, queue, reference_plan, site, team

from standby.impact.erlang import Traffic, erlang_a, erlang_c
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.respond.centre import Arrival, QueueNow, centre_now, forecast_now, queues_hit
from standby.respond.continuity import relocation

# 09:30 UTC on a Monday in June is 10:30 in London: the forecast's sixth half hour (10:30-11:00).
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def ref() -> Plan:
    return reference_plan()


@pytest.fixture(scope="module")
def topo(ref: Plan) -> Topology:
    return Topology.from_plan(ref)


def answering(p: Plan, t: Topology) -> dict[str, tuple[str, ...]]:
    return {q.id: t.sites_answering(q.id) for q in p.queues}


def centre(
    p: Plan,
    t: Topology,
    down: list[str],
    *,
    now: datetime = NOW,
    started: datetime = NOW - timedelta(minutes=10),
    ended: datetime | None = None,
    arrivals: tuple[Arrival, ...] = (),
    queues: tuple[str, ...] = (),
    sites: tuple[str, ...] = (),
) -> dict[str, QueueNow]:
    state = t.availability(down)
    lost = t.availability([]).sites - state.sites
    sites_answering = answering(p, t)
    hit = queues_hit(p, queues=queues, sites={*sites, *lost}, answering=sites_answering)
    found = centre_now(
        p,
        state,
        hit=hit,
        lost_sites=lost,
        answering=sites_answering,
        arrivals=arrivals,
        started_at=started,
        ended_at=ended,
        now=now,
    )
    return {q.queue_id: q for q in found}


def expected(
    p: Plan, queue_id: str, calls: float, agents: int, aht_factor: float = 1.0
) -> tuple[float, float, float]:
    q = p.queues_by_id[queue_id]
    traffic = Traffic.over_interval(
        calls=calls,
        interval_minutes=30,
        aht_s=q.aht_s * aht_factor,
        answer_within_s=q.service_level.answer_within_s,
        patience_s=q.patience_s,
    )
    result = erlang_a(traffic, agents)
    return result.service_level, result.asa_s, result.p_abandon


def test_leeds_dark_every_queue_is_hit_nobody_can_answer_and_the_emergency_tolerance_runs_out(
    ref: Plan, topo: Topology
) -> None:
    found = centre(ref, topo, ["leeds-power"])
    assert list(found) == ["emergency", "billing", "moving"]
    emergency = found["emergency"]
    assert (emergency.reachable, emergency.answered, emergency.agents) == (True, False, 0)
    assert emergency.planned_agents == 12
    assert emergency.forecast is not None
    assert (emergency.forecast.calls, emergency.forecast.start) == (48, 630)
    assert (emergency.service_level, emergency.asa_s, emergency.abandonment) == (0.0, None, 1.0)
    assert emergency.why_not == "nobody is able to answer it"
    assert emergency.sites_lost == ("leeds",)
    assert emergency.tolerance is not None
    assert (emergency.tolerance.max_minutes, emergency.tolerance.out_minutes) == (15, 10)
    assert emergency.tolerance.left_minutes == 5 and not emergency.tolerance.breached
    later = centre(ref, topo, ["leeds-power"], now=NOW + timedelta(minutes=6))["emergency"]
    assert later.tolerance is not None and later.tolerance.breached and later.tolerance.left_minutes == -1


def test_agents_moved_home_count_once_they_have_arrived_and_the_service_is_erlang_a_on_them(
    ref: Plan, topo: Topology
) -> None:
    moving = relocation(ref, topo, ref.strategies[0], down_components=["leeds-power"], now=NOW)
    # 80%, 60% and 50% of the gas desk, the early billing shift and the sales team, rounded down:
    # the evening shift is not on yet.
    assert moving is not None and moving.agents == 9 + 30 + 9
    arrivals = tuple(
        Arrival(moving.strategy_id, m.team_id, moving.target, m.agents, m.queues, moving.ready_at)
        for m in moving.moves
    )
    before = centre(ref, topo, ["leeds-power"], now=NOW + timedelta(minutes=29), arrivals=arrivals)
    assert before["emergency"].agents == 0  # the home site takes calls 30 minutes after it runs
    now = NOW + timedelta(minutes=31)  # 11:01 in London: the seventh half hour of the forecast
    found = centre(ref, topo, ["leeds-power"], now=now, arrivals=arrivals)
    assert {q: (found[q].agents, found[q].agents_moved) for q in found} == {
        "emergency": (9, 9),
        "billing": (30, 30),
        "moving": (9, 9),
    }
    for queue_id, calls, agents in (("emergency", 46, 9), ("billing", 210, 30), ("moving", 38, 9)):
        shown = found[queue_id]
        assert shown.forecast is not None and shown.forecast.calls == calls
        level, asa, abandon = expected(ref, queue_id, calls, agents)
        assert shown.service_level == pytest.approx(level, rel=1e-12)
        assert shown.asa_s == pytest.approx(asa, rel=1e-12)
        assert shown.abandonment == pytest.approx(abandon, rel=1e-12)
    # Emergency: 46 calls of 300 s in half an hour is 7.7 Erlangs; 9 agents answer most, not 90%, in 10 s.
    assert found["emergency"].service_level is not None and 0.6 < found["emergency"].service_level < 0.9
    # Billing: 49 Erlangs on 30 agents, callers hanging up after 3 minutes on average.
    assert found["billing"].abandonment is not None and 0.2 < found["billing"].abandonment < 0.5


def test_a_slow_crm_slows_handling_and_a_team_whose_first_skill_is_cut_off_takes_its_next(
    ref: Plan, topo: Topology
) -> None:
    found = centre(ref, topo, ["crm"], queues=("moving", "emergency", "billing"))
    assert list(found) == ["emergency", "billing", "moving"]
    moving = found["moving"]
    assert (moving.reachable, moving.agents, moving.service_level) == (False, 0, None)
    assert moving.why_not == "calls do not reach the queue" and moving.sites_lost == ()
    billing = found["billing"]
    assert billing.agents == 50 + 19  # the sales team's first skill is cut off: it takes billing
    assert billing.aht_s == pytest.approx(420 * 1.6)
    level, asa, abandon = expected(ref, "billing", 230, 69, aht_factor=1.6)
    assert (billing.service_level, billing.asa_s, billing.abandonment) == pytest.approx((level, asa, abandon))
    assert found["emergency"].aht_s == pytest.approx(300 * 1.3)


def test_no_forecast_for_the_hour_and_an_ended_outage_stops_the_tolerance_clock(
    ref: Plan, topo: Topology
) -> None:
    night = datetime(2026, 6, 15, 21, 0, tzinfo=UTC)  # 22:00 in London: past the forecast and the shifts
    found = centre(ref, topo, ["sbc"], now=night, started=night - timedelta(minutes=30), queues=("billing",))
    billing = found["billing"]
    assert billing.forecast is None and billing.why_not == "calls do not reach the queue"
    assert billing.planned_agents == 0
    ended = centre(
        ref,
        topo,
        [],
        started=NOW - timedelta(minutes=60),
        ended=NOW - timedelta(minutes=40),
        queues=("emergency",),
        now=NOW,
    )["emergency"]
    assert ended.tolerance is not None and ended.tolerance.out_minutes == 20 and ended.tolerance.breached
    assert forecast_now(ref.queues_by_id["billing"], 7 * 60) is None  # before the forecast starts


def test_erlang_c_past_capacity_is_unbounded_and_a_partner_brings_its_own_agents() -> None:
    p = plan(
        sites=[site("hq"), site("partner", kind="partner", seats=4, queues=["q"])],
        queues=[queue("q", forecast={"interval_minutes": 60, "start": "00:00", "calls": [30] * 24})],
        teams=[team("t", "hq", ["q"], agents=1, shift={"start": "00:00", "end": "24:00"})],
    )
    t = Topology.from_plan(p)
    q = p.queues_by_id["q"]
    assert q.patience_s is None  # Erlang C: nobody hangs up
    found = centre(p, t, [], queues=("q",))["q"]
    load = 30 * q.aht_s / 3600
    assert load >= 1 and (found.agents, found.unstable, found.asa_s) == (1, True, None)
    partner = Arrival("overflow", None, "partner", 4, ("q",), NOW - timedelta(minutes=1))
    helped = centre(p, t, [], queues=("q",), arrivals=(partner,))["q"]
    assert (helped.agents, helped.agents_moved, helped.unstable) == (5, 4, False)
    traffic = Traffic.over_interval(
        calls=30, interval_minutes=60, aht_s=q.aht_s, answer_within_s=q.service_level.answer_within_s
    )
    assert helped.service_level == pytest.approx(erlang_c(traffic, 5).service_level, rel=1e-12)
