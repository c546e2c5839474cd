"""The general engine on the groups' free times gives the event list's record, attempt for attempt."""

from __future__ import annotations

import pytest
import yaml
from _plans import REFERENCE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_simulation_engine import days, random_centre, same

from standby.impact.day import build_days
from standby.impact.draws import Draws
from standby.impact.engine import simulate, simulate_events
from standby.impact.free_times import free_times_apply, simulate_free_times
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.strategies import resolve
from standby.plan.schema import Plan
from standby.plan.topology import Topology


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_free_times_give_the_event_lists_record(data: st.DataObject) -> None:
    """Random centres: skills across queues, shifts, lost sites, relocations, retries, callbacks."""
    p = random_centre(data)
    down = data.draw(st.sampled_from(["power-a", "power-b", "crm", "vpn"]))
    at, minutes = data.draw(st.integers(480, 560)), data.draw(st.integers(1, 120))
    cv = data.draw(st.one_of(st.none(), st.floats(0.2, 2.0)))
    for model in days(p, down, at, minutes):
        if not free_times_apply(model):  # a queue depending on the component went down
            continue
        draws = Draws(model, data.draw(st.integers(0, 2**32)), 0, cv)
        assert same(simulate_free_times(model, draws), simulate_events(model, draws))


DOWNS = [("leeds-power",), ("leeds-power", "vpn"), ("leeds-wan-1", "leeds-wan-2"), ("identity",)]


@pytest.mark.parametrize("down", DOWNS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_free_times_give_the_reference_plans_record(down: tuple[str, ...], seed: int) -> None:
    """Three queues, three teams, a partner, relocations home and listed callbacks."""
    plan = Plan.model_validate(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))
    effect = resolve(plan, Topology.from_plan(plan), Scenario(down, 560, 150))
    callbacks = (ScheduledCallback(615, "billing", vulnerable=True), ScheduledCallback(640, "emergency"))
    for model in build_days(plan, effect, callbacks):
        draws = Draws(model, seed, 0)
        assert free_times_apply(model)
        assert same(simulate_free_times(model, draws), simulate_events(model, draws))


def test_a_queue_becoming_unreachable_stays_on_the_event_list() -> None:
    """Its cut-off agents take waiting work in the event list's order: the free times do not apply."""
    plan = Plan.model_validate(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))
    baseline, outage = build_days(plan, resolve(plan, Topology.from_plan(plan), Scenario(("acd",), 600, 60)))
    assert free_times_apply(baseline)
    assert not free_times_apply(outage)
    draws = Draws(outage, 4, 0)
    assert same(simulate(outage, draws, general=True), simulate_events(outage, draws))
