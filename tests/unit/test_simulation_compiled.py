"""The compiled event list gives the Python event list's record: every array, in order, bit for bit."""

from __future__ import annotations

import subprocess
import sys
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
from standby.impact.compiled_run import simulate_compiled
from standby.impact.day import DayModel
from standby.impact.draws import MAX_ATTEMPTS, Draws
from standby.impact.engine import simulate, simulate_events
from standby.impact.records import ABANDONED, ANSWERED, DEFLECTED, UNREACHABLE, WAITING, DayRecord


def both(model: DayModel, draws_args: tuple[Any, ...], **options: Any) -> tuple[DayRecord, DayRecord]:
    """The compiled record and the Python one, each on fresh draws (neither sees the other's tables)."""
    return (
        simulate_compiled(model, Draws(model, *draws_args), **options),
        simulate_events(model, Draws(model, *draws_args)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_days_give_the_event_lists_record(data: st.DataObject) -> None:
    """Random centres and random outages: every kind of change, at any moment, any number of times."""
    for model, draws_args in random_days(data):
        compiled, python = both(model, draws_args)
        assert identical(compiled, python)
        assert same_figures(model, compiled, Draws(model, *draws_args))


@pytest.mark.parametrize(
    "down", [("acd",), ("leeds-power",), ("leeds-power", "vpn"), ("crm",), ("identity",)]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_plans_days_give_the_event_lists_record(down: tuple[str, ...], seed: int) -> None:
    """Three queues, four teams on shifts, a partner, relocations home, listed callbacks."""
    for model in reference_days(down):
        compiled, python = both(model, (seed, 0))
        assert identical(compiled, python)
        assert same_figures(model, compiled, Draws(model, seed, 0))


def test_the_arrays_grow_and_draws_are_fetched_as_the_loop_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No spare room at first: the loop stops for room and for draws many times, and carries on exactly."""
    codes = count_stops(monkeypatch, compiled_run.cd)
    model = busy_day_with_everything()
    for seed in (5, 6):
        compiled, python = both(model, (seed, 0), spare=0)
        assert identical(compiled, python)
        assert same_figures(model, compiled, Draws(model, seed, 0))
    assert stopped_for_room_and_draws(codes, 2)
    outcomes = set(compiled.outcome.tolist())
    assert {ANSWERED, ABANDONED, UNREACHABLE, DEFLECTED} <= outcomes
    assert compiled.cut.any() and compiled.attempt.max() == MAX_ATTEMPTS - 1
    assert not np.isnan(compiled.callback_start).all() and np.isnan(compiled.callback_start).any()


def test_one_replications_draws_serve_both_days() -> None:
    """The later attempts' tables drawn for one day are read by the other: the records of fresh draws."""
    p = one_queue_plan(agents=8, calls=150.0, patience_s=90.0, retry_share=0.9, intervals=10)
    baseline, outage = days(p, "acd", 600, 60)
    shared = Draws(baseline, 11, 2)
    first, second = simulate_compiled(baseline, shared), simulate_compiled(outage, shared)
    assert identical(first, simulate_events(baseline, Draws(baseline, 11, 2)))
    assert identical(second, simulate_events(outage, Draws(baseline, 11, 2)))
    assert identical(simulate_compiled(baseline, shared), first)  # and again, nothing left over from before


def test_a_day_with_nobody_calling_again_shares_the_draws_arrays() -> None:
    p = one_queue_plan(retry_share=0.0)
    baseline, _ = days(p, "crm")
    draws = Draws(baseline, 3, 0)
    record = simulate_compiled(baseline, draws)
    assert record.time is draws.time and record.queue is draws.queue
    assert (record.outcome != WAITING).any()


def test_simulate_runs_the_compiled_engine_and_falls_back_to_python_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = busy_day_with_everything()
    assert engine.compiled_engine() is simulate_compiled
    compiled = simulate(model, Draws(model, 8, 0))
    monkeypatch.setattr(engine, "_compiled", [None])  # as if numba could not be imported
    assert identical(simulate(model, Draws(model, 8, 0)), compiled)
    assert identical(simulate(model, Draws(model, 8, 0), general=True), compiled)


def test_numba_is_imported_only_when_a_day_is_simulated() -> None:
    """Commands, charts and records import the simulation's modules; numba comes with the first day."""
    probe = (
        "import sys; import standby.cli, standby.impact.simulation, standby.impact.engine, "
        "standby.impact.charts, standby.impact.report, standby.forecast.outlook; "
        "print('numba' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False"
