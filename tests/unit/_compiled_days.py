"""What the compiled engines' tests share: random and reference days, records compared bit for bit, stops."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest
import yaml
from _plans import REFERENCE
from hypothesis import strategies as st
from test_simulation_engine import days, one_queue_plan, random_centre

from standby.impact.compiled_steps import DRAW, FINISHED, GROW
from standby.impact.day import CAPACITY, DEFLECT, FACTOR, REACH, Change, DayModel, build_days
from standby.impact.draws import MAX_ATTEMPTS, Draws
from standby.impact.records import DayRecord
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


def random_days(data: st.DataObject) -> Iterator[tuple[DayModel, tuple[Any, ...]]]:
    """A random centre's days of a random outage, half with random changes; each with its draws' args."""
    p = random_centre(data)
    down = data.draw(st.sampled_from(["power-a", "power-b", "acd", "ivr", "crm", "vpn"]))
    at, minutes = data.draw(st.integers(480, 560)), data.draw(st.integers(1, 120))
    seed, cv = data.draw(st.integers(0, 2**32)), data.draw(st.one_of(st.none(), st.floats(0.2, 2.0)))
    for model in days(p, down, at, minutes):
        if data.draw(st.booleans()):
            model = replace(model, changes=random_changes(data, model))
        yield model, (seed, 0, cv)


def reference_days(down: tuple[str, ...]) -> tuple[DayModel, ...]:
    """The reference plan's days of an outage at 10:00 for 90 minutes, with two listed callbacks."""
    plan = Plan.model_validate(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))
    effect = resolve(plan, Topology.from_plan(plan), Scenario(down, 600, 90))
    callbacks = (ScheduledCallback(615, "billing", vulnerable=True), ScheduledCallback(640, "emergency"))
    return build_days(plan, effect, callbacks)


def busy_day_with_everything() -> DayModel:
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


def count_stops(monkeypatch: pytest.MonkeyPatch, engine: Any) -> Counter[int]:
    """From now on, count what each call of `engine.run_day` (a compiled engine's module) returns."""
    codes: Counter[int] = Counter()
    run_day = engine.run_day

    def counted(*args: Any) -> int:
        code: int = run_day(*args)
        codes[code] += 1
        return code

    monkeypatch.setattr(engine, "run_day", counted)
    return codes


def stopped_for_room_and_draws(codes: Counter[int], days: int) -> bool:
    """Whether the loop stopped often for room and for draws, and finished each of `days` days once."""
    return codes[GROW] >= 4 and codes[DRAW] >= days * (MAX_ATTEMPTS - 2) and codes[FINISHED] == days
