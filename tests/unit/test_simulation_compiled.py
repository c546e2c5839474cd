"""The compiled event list gives the Python event list's record: every array, in order, bit for bit."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest
import yaml
from _plans import REFERENCE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_simulation_engine import days, one_queue_plan, random_centre

from standby.impact import compiled_day, compiled_run, engine
from standby.impact.compiled_run import simulate_compiled
from standby.impact.day import CAPACITY, DEFLECT, FACTOR, REACH, Change, DayModel, build_days
from standby.impact.draws import MAX_ATTEMPTS, Draws
from standby.impact.engine import simulate, simulate_events
from standby.impact.records import ABANDONED, ANSWERED, DEFLECTED, UNREACHABLE, WAITING, DayRecord
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.strategies import resolve
from standby.impact.tally import DayTally, tally, tally_numpy
from standby.plan.schema import Plan
from standby.plan.topology import Topology

ARRAYS = (
    "queue", "customer", "attempt", "time", "outcome", "end", "service_end", "cut",
    "callback_start", "callback_end",
)  # fmt: skip


def identical(a: DayRecord, b: DayRecord) -> bool:
    """Every array equal, element for element in the same order, with the same dtype (NaN equal to NaN)."""
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    return True


def both(model: DayModel, draws_args: tuple[Any, ...], **options: Any) -> tuple[DayRecord, DayRecord]:
    """The compiled record and the Python one, each on fresh draws (neither sees the other's tables)."""
    return (
        simulate_compiled(model, Draws(model, *draws_args), **options),
        simulate_events(model, Draws(model, *draws_args)),
    )


def same_figures(model: DayModel, record: DayRecord, draws: Draws) -> bool:
    """The compiled tally's figures are the numpy tally's, bit for bit (tolerance queues: each, one twice)."""
    queues = [*range(len(model.queues)), 0]
    a, b = tally(model, record, draws, queues), tally_numpy(model, record, draws, queues)
    for field in fields(DayTally):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def random_changes(data: st.DataObject, model: DayModel) -> tuple[Change, ...]:
    """Shifts, lost sites, queues dropping and coming back, deflection, slower handling, at any moment."""
    start, end = model.start_s, model.end_s
    minute = st.integers(int(start // 60), int(end // 60)).map(lambda m: m * 60.0)
    nq, ng = len(model.queues), len(model.groups)
    changes = [Change(start, CAPACITY, g, float(data.draw(st.integers(0, 20)))) for g in range(ng)]
    kinds = st.sampled_from([REACH, DEFLECT, FACTOR, CAPACITY])
    for _ in range(data.draw(st.integers(0, 14))):
        kind, at = data.draw(kinds), data.draw(minute)
        if kind == REACH:
            changes.append(
                Change(at, REACH, data.draw(st.integers(0, nq - 1)), data.draw(st.sampled_from([0.0, 1.0])))
            )
        elif kind == DEFLECT:
            share = data.draw(st.sampled_from([0.0, 0.2, 0.7, 1.0]))
            changes.append(Change(at, DEFLECT, data.draw(st.integers(0, nq - 1)), share))
        elif kind == FACTOR:
            changes.append(
                Change(
                    at, FACTOR, data.draw(st.integers(0, nq - 1)), data.draw(st.sampled_from([0.5, 1.0, 1.7]))
                )
            )
        else:
            g, cap = data.draw(st.integers(0, ng - 1)), float(data.draw(st.integers(0, 25)))
            changes.append(Change(at, CAPACITY, g, cap, cut=data.draw(st.booleans())))
    return tuple(changes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_days_give_the_event_lists_record(data: st.DataObject) -> None:
    """Random centres and random outages: every kind of change, at any moment, any number of times."""
    p = random_centre(data)
    down = data.draw(st.sampled_from(["power-a", "power-b", "acd", "ivr", "crm", "vpn"]))
    at, minutes = data.draw(st.integers(480, 560)), data.draw(st.integers(1, 120))
    seed, cv = data.draw(st.integers(0, 2**32)), data.draw(st.one_of(st.none(), st.floats(0.2, 2.0)))
    for model in days(p, down, at, minutes):
        if data.draw(st.booleans()):
            model = replace(model, changes=random_changes(data, model))
        compiled, python = both(model, (seed, 0, cv))
        assert identical(compiled, python)
        assert same_figures(model, compiled, Draws(model, seed, 0, cv))


@pytest.mark.parametrize(
    "down", [("acd",), ("leeds-power",), ("leeds-power", "vpn"), ("crm",), ("identity",)]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_plans_days_give_the_event_lists_record(down: tuple[str, ...], seed: int) -> None:
    """Three queues, four teams on shifts, a partner, relocations home, listed callbacks."""
    plan = Plan.model_validate(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))
    effect = resolve(plan, Topology.from_plan(plan), Scenario(down, 600, 90))
    callbacks = (ScheduledCallback(615, "billing", vulnerable=True), ScheduledCallback(640, "emergency"))
    for model in build_days(plan, effect, callbacks):
        compiled, python = both(model, (seed, 0))
        assert identical(compiled, python)
        assert same_figures(model, compiled, Draws(model, seed, 0))


def _busy_day_with_everything() -> DayModel:
    """One queue of many callers who call again, a line that drops twice, a lost site, callbacks."""
    p = one_queue_plan(agents=12, calls=160.0, patience_s=60.0, retry_share=0.9, intervals=16)
    _, outage = days(p, "acd", 600, 60)
    callbacks = tuple((outage.start_s + 900.0 * i, 0, None) for i in range(1, 30))
    extra = (
        Change(9 * 3600.0, REACH, 0, 0.0),
        Change(9.5 * 3600.0, REACH, 0, 1.0),
        Change(11 * 3600.0, CAPACITY, 0, 4.0, cut=True),
        Change(11.5 * 3600.0, DEFLECT, 0, 0.3),
        Change(12 * 3600.0, FACTOR, 0, 1.8),
        Change(13 * 3600.0, CAPACITY, 0, 15.0),
    )
    return replace(outage, changes=outage.changes + extra, callbacks=callbacks)


def test_the_arrays_grow_and_draws_are_fetched_as_the_loop_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No spare room at first: the loop stops for room and for draws many times, and carries on exactly."""
    codes: Counter[int] = Counter()
    run_day = compiled_day.run_day

    def counted(*args: Any) -> int:
        code = run_day(*args)
        codes[code] += 1
        return code

    monkeypatch.setattr(compiled_run.cd, "run_day", counted)
    model = _busy_day_with_everything()
    for seed in (5, 6):
        compiled, python = both(model, (seed, 0), spare=0)
        assert identical(compiled, python)
        assert same_figures(model, compiled, Draws(model, seed, 0))
    assert codes[compiled_day.GROW] >= 4 and codes[compiled_day.DRAW] >= 2 * (MAX_ATTEMPTS - 2)
    assert codes[compiled_day.FINISHED] == 2
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
    model = _busy_day_with_everything()
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
