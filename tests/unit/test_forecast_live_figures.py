"""The centre's live queue figures and booked callbacks in the forecast's day (forecast.live_figures)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from standby.forecast.live import LiveState
from standby.forecast.live_figures import LiveDraws, queue_of_metric, waiting_now
from standby.forecast.outlook import forecast
from standby.forecast.records import Outlook
from standby.impact.day import build_days, capacity_series, with_capacity
from standby.impact.draws import Draws
from standby.impact.engine import simulate
from standby.impact.records import WAITING
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.strategies import resolve
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.plan.topology import Topology

TEN_THIRTY = 10 * 60 + 30


@cache
def reference() -> Plan:
    return load_plan_text(reference_plan_text())


def _days(down: tuple[str, ...] = ("leeds-power",)):  # type: ignore[no-untyped-def]
    plan = reference()
    return build_days(plan, resolve(plan, Topology.from_plan(plan), Scenario(down, TEN_THIRTY, 60)))


def test_a_day_given_its_own_capacity_is_the_same_day() -> None:
    _, outage = _days()
    same = with_capacity(outage, {g: capacity_series(outage, g) for g in range(len(outage.groups))})
    assert same.changes == outage.changes
    assert np.array_equal(same.answering, outage.answering)
    baseline, _ = _days()
    fewer = capacity_series(baseline, 0)
    fewer[TEN_THIRTY + 10 :] //= 2
    halved = with_capacity(baseline, {0: fewer})
    assert halved.answering[:, TEN_THIRTY + 10].sum() < baseline.answering[:, TEN_THIRTY + 10].sum()
    assert np.array_equal(capacity_series(halved, 0), fewer)


def test_callers_joining_keep_everyone_elses_numbers() -> None:
    baseline, _ = _days()
    draws = Draws(baseline, 4, 0)
    same = LiveDraws(draws, {0: 0, 1: -3}, 640 * 60.0)
    assert same.time is draws.time and same.service is draws.service
    more = LiveDraws(draws, {1: 5}, 640 * 60.0)
    assert more.time.size == draws.time.size + 5
    joined = (more.time == 640 * 60.0) & (more.queue == 1)
    assert joined.sum() >= 5
    for name in ("time", "queue", "local", "service", "deadline", "deflect", "retry", "delay", "vulnerable"):
        kept = getattr(more, name)[~joined] if name != "time" else more.time[~joined]
        assert np.array_equal(kept, getattr(draws, name)[~((draws.time == 640 * 60.0) & (draws.queue == 1))])
    first = draws.attempt(1, 1)
    later = more.attempt(1, 1)
    assert np.array_equal(later.service[: first.service.size], first.service)
    assert later.service.size == first.service.size + 5


@pytest.mark.parametrize("down", [("acd",), ("leeds-power",)])
def test_calls_waiting_are_counted_from_the_replay_up_to_now(down: tuple[str, ...]) -> None:
    _, outage = _days(down)
    draws = Draws(outage, 2, 0)
    held = waiting_now(outage, draws, TEN_THIRTY + 10)
    record = simulate(outage, draws)
    now = (TEN_THIRTY + 10) * 60.0
    # On the whole day, the calls on hold at that minute: arrived by then, not yet answered or gone.
    on_hold = (record.time <= now) & ((record.end > now) | (record.outcome == WAITING))
    assert np.array_equal(held, np.bincount(record.queue[on_hold], minlength=len(outage.queues)))
    assert held.sum() > 0 if down == ("leeds-power",) else held.sum() == 0  # no line: nobody holds


@cache
def roomy() -> Plan:
    """The reference plan with billing agents to spare all day, so that a callback takes no caller's agent."""
    text = reference_plan_text()
    early = '    agents: 50\n    shift: {start: "08:00", end: "16:00"}'
    assert early in text
    return load_plan_text(text.replace(early, '    agents: 100\n    shift: {start: "08:00", end: "20:00"}'))


def _none(state: LiveState, lasting: int = 60, plan: Plan | None = None) -> Outlook:
    return forecast(plan or reference(), state, replications=6, seed=9).option("none").lasting[lasting]


def test_the_centres_calls_waiting_and_agents_available_change_the_forecast() -> None:
    replay = LiveState(("leeds-power",), TEN_THIRTY, TEN_THIRTY + 10)
    plain = _none(replay)
    assert _none(LiveState(**{**replay.__dict__, "waiting": (("emergency", 0),)})) == plain
    busy = _none(LiveState(**{**replay.__dict__, "waiting": (("billing", 400),)}))
    assert busy.calls_unanswered.mean > plain.calls_unanswered.mean
    assert busy.customers_affected.mean > plain.customers_affected.mean + 100
    slow = LiveState(("crm",), TEN_THIRTY, TEN_THIRTY + 10)  # the agents are there, slower
    nobody = _none(LiveState(**{**slow.__dict__, "available": (("emergency", 0),)}))
    out = {(t.queue, t.kind): t.breached_at for t in nobody.tolerances}
    assert out[("emergency", "max_outage_minutes")] == TEN_THIRTY + 10 + 15  # none to answer from now
    assert nobody.calls_unanswered.mean > _none(slow).calls_unanswered.mean
    # As many as the day has (24 on the emergency line, 122 on billing at 10:40): the same day.
    as_planned = _none(LiveState(**{**slow.__dict__, "available": (("emergency", 24), ("billing", 122))}))
    assert as_planned == _none(slow)


def test_callbacks_booked_for_the_day_enter_it() -> None:
    state = LiveState(("acd",), TEN_THIRTY, TEN_THIRTY + 10)
    # On the reference plan's staffing a callback answered on the normal day takes an agent
    # from a caller, which moves every other figure; with agents to spare only the callbacks differ.
    plain = _none(state, plan=roomy())
    booked = tuple(ScheduledCallback(TEN_THIRTY + 20 + n, "billing", n % 2 == 0) for n in range(10))
    more = _none(LiveState(**{**state.__dict__, "callbacks": booked}), plan=roomy())
    assert more.callbacks_missed.mean == plain.callbacks_missed.mean + 10  # the lines are down then
    assert more.vulnerable_affected.mean == plain.vulnerable_affected.mean + 5


def test_the_metric_names_of_live_figures() -> None:
    assert queue_of_metric("queue.emergency.calls_waiting") == ("emergency", "calls_waiting")
    assert queue_of_metric("queue.q.1.agents_available") == ("q.1", "agents_available")
    assert queue_of_metric("queue.emergency.abandon_rate") is None
    assert queue_of_metric("abandon_rate") is None
