"""The compiled free times give the Python free times' record bit for bit, in order, hence the event list's.

The free times append the retries of calls cut off at one moment in call order, the event
list in its heap's order: against the event list, records are compared ordered by
(customer, attempt) (`DayRecord.sorted`), every array bit for bit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from _compiled_days import (
    busy_day_with_everything,
    count_stops,
    identical,
    random_days,
    reference_days,
    same_figures,
    stopped_for_room_and_draws,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_simulation_engine import days, one_queue_plan

from standby.impact import compiled_run, engine
from standby.impact.compiled_run import simulate_compiled, simulate_compiled_free_times
from standby.impact.day import CAPACITY, REACH, Change, DayModel
from standby.impact.draws import MAX_ATTEMPTS, Draws
from standby.impact.engine import simulate, simulate_events
from standby.impact.free_times import free_times_apply, simulate_free_times
from standby.impact.records import ABANDONED, ANSWERED, DEFLECTED, WAITING, DayRecord


def check(model: DayModel, draws_args: tuple[Any, ...], **options: Any) -> DayRecord:
    """The compiled record against the Python free times (in order) and the event list (sorted); it."""
    compiled = simulate_compiled_free_times(model, Draws(model, *draws_args), **options)
    assert identical(compiled, simulate_free_times(model, Draws(model, *draws_args)))
    assert identical(compiled.sorted(), simulate_events(model, Draws(model, *draws_args)).sorted())
    assert same_figures(model, compiled, Draws(model, *draws_args))
    return compiled


def without_reach(model: DayModel) -> DayModel:
    """The model without its changes of a queue's reachability (those days stay on the event list)."""
    return replace(model, changes=tuple(c for c in model.changes if c.kind != REACH))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_days_give_the_free_times_record(data: st.DataObject) -> None:
    """Random centres and outages: every change but reachability, callbacks, at any moment."""
    for model, draws_args in random_days(data):
        model = without_reach(model)
        if data.draw(st.booleans()):
            due = st.integers(int(model.start_s), int(model.end_s) + 600).map(float)
            queue = st.integers(0, len(model.queues) - 1)
            calls = data.draw(st.lists(st.tuples(due, queue), max_size=12))
            model = replace(model, callbacks=tuple(sorted((d, q, None) for d, q in calls)))
        assert free_times_apply(model)
        check(model, draws_args)


@pytest.mark.parametrize(
    "down", [("leeds-power",), ("leeds-power", "vpn"), ("leeds-wan-1", "leeds-wan-2"), ("identity",)]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_plans_days_give_the_free_times_record(down: tuple[str, ...], seed: int) -> None:
    """Three queues, four teams on shifts, a partner, relocations home, listed callbacks."""
    for model in reference_days(down):
        assert free_times_apply(model)
        check(model, (seed, 0))


def test_the_arrays_grow_and_draws_are_fetched_as_the_loop_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No spare room at first: the loop stops for room and for draws many times, and carries on exactly."""
    codes = count_stops(monkeypatch, compiled_run.cft)
    model = without_reach(busy_day_with_everything())
    assert any(c.kind == CAPACITY and c.cut for c in model.changes)
    for seed in (5, 6):
        compiled = check(model, (seed, 0), spare=0)
    assert stopped_for_room_and_draws(codes, 2)
    assert {ANSWERED, ABANDONED, DEFLECTED} <= set(compiled.outcome.tolist())
    assert compiled.cut.any() and compiled.attempt.max() == MAX_ATTEMPTS - 1
    assert not np.isnan(compiled.callback_start).any()  # no line drops: every callback is made


@pytest.mark.parametrize("seed", [0, 2])
def test_a_cut_off_retries_the_calls_answered_at_once_then_the_others_each_in_call_order(seed: int) -> None:
    """A lost site's agents on calls of both kinds: the callers' next attempts are appended in that order."""
    base, _ = days(one_queue_plan(agents=12, calls=70.0, patience_s=120.0, retry_share=0.9), "crm")
    model = replace(base, changes=(*base.changes, Change(11 * 3600.0, CAPACITY, 0, 4.0, cut=True)))
    first = len(Draws(model, seed, 0).time)
    record = check(model, (seed, 0))
    cut = np.flatnonzero(record.cut)
    at_once = (cut < first) & (record.end[cut] == record.time[cut])
    assert 0 < at_once.sum() < len(cut)
    retried = [
        np.flatnonzero((record.customer == record.customer[c]) & (record.attempt == record.attempt[c] + 1))
        for c in (*cut[at_once], *cut[~at_once])
    ]
    appended = [int(found[0]) for found in retried if len(found)]
    assert len(appended) >= 2 and appended == sorted(appended)


def test_simulate_runs_the_free_times_where_no_line_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    free_times, events = engine.compiled_engines() or pytest.fail("numba is installed for the tests")
    assert (free_times, events) == (simulate_compiled_free_times, simulate_compiled)

    def named(name: str, function: Any) -> Any:
        def run(model: DayModel, draws: Draws) -> DayRecord:
            ran.append(name)
            return function(model, draws)  # type: ignore[no-any-return]

        return run

    monkeypatch.setattr(engine, "_compiled", [(named("free times", free_times), named("events", events))])
    model = busy_day_with_everything()
    simulate(without_reach(model), Draws(model, 8, 0))
    simulate(model, Draws(model, 8, 0))
    assert ran == ["free times", "events"]
    assert engine.compiled_engine() is not None


def test_calls_still_on_hold_when_the_day_ends_are_waiting() -> None:
    """One queue swamped: many callers still on hold when the day ends."""
    baseline, _ = days(one_queue_plan(agents=2, calls=400.0, patience_s=None, intervals=4), "crm")
    record = check(baseline, (3, 0))
    assert (record.outcome == WAITING).any()
