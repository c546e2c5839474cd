"""The engines: the fast pool against the general engine, conservation, and Erlang A in steady state."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from _plans import component, plan, queue, site, team
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standby.impact.day import build_days
from standby.impact.draws import Draws
from standby.impact.engine import simulate, simulate_events
from standby.impact.erlang import Traffic, erlang_a
from standby.impact.pool import pool_applies, simulate_pool
from standby.impact.records import ANSWERED, WAITING, DayRecord
from standby.impact.results import Scenario
from standby.impact.strategies import resolve
from standby.impact.tally import (
    ABANDONED_COUNT,
    ANSWERED_COUNT,
    DEFLECTED_COUNT,
    IN_TARGET,
    OFFERED,
    UNREACHABLE_COUNT,
    tally,
)
from standby.plan.schema import Plan
from standby.plan.topology import Topology

FIELDS = ("queue", "customer", "attempt", "time", "outcome", "end", "service_end", "cut")


def one_queue_plan(
    *,
    agents: int = 20,
    calls: float = 120.0,
    intervals: int = 16,
    patience_s: float | None = 120.0,
    retry_share: float = 0.0,
    aht_s: float = 300.0,
    shift: tuple[str, str] = ("08:00", "18:00"),
    start: str = "08:00",
    interval_minutes: int = 30,
    spare: bool = False,
) -> Plan:
    extra: dict[str, Any] = {"retry_share": retry_share, "aht_s": aht_s}
    if patience_s is not None:
        extra["patience_s"] = patience_s
    return plan(
        components=[
            component("trunk"),
            component("acd", "trunk"),
            component("crm"),
            component("ivr", "acd"),
            *([component("spare")] if spare else []),
        ],
        sites=[site("office", seats=agents)],
        queues=[
            queue(
                "sales",
                "acd",
                "ivr",
                degraded_by=[{"component": "crm", "aht_factor": 1.5}],
                forecast={"interval_minutes": interval_minutes, "start": start, "calls": [calls] * intervals},
                **extra,
            )
        ],
        teams=[team("desk", "office", ["sales"], agents=agents, shift={"start": shift[0], "end": shift[1]})],
        strategies=[
            {
                "id": "message",
                "name": "Outage message",
                "when": {"component_down": "crm"},
                "actions": [{"ivr_message": "Sorry", "deflect_share": 0.2}],
            }
        ],
    )


def days(p: Plan, down: str, at: int = 600, minutes: int = 45) -> tuple[Any, Any]:
    effect = resolve(p, Topology.from_plan(p), Scenario((down,), at, minutes))
    return build_days(p, effect)


def same(a: DayRecord, b: DayRecord) -> bool:
    x, y = a.sorted(), b.sorted()
    return all(np.array_equal(getattr(x, f), getattr(y, f), equal_nan=True) for f in FIELDS)


# ---- the pool is the general engine, faster ----------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    agents=st.integers(1, 30),
    calls=st.floats(10, 200),
    patience=st.one_of(st.none(), st.floats(5, 600)),
    retry=st.sampled_from([0.0, 0.4, 1.0]),
    down=st.sampled_from(["acd", "crm", "trunk"]),
    at=st.integers(480, 900),
    minutes=st.integers(1, 120),
    seed=st.integers(0, 2**32),
    cv=st.one_of(st.none(), st.floats(0.2, 2.0)),
)
def test_pool_gives_the_general_engines_record_attempt_for_attempt(
    agents: int,
    calls: float,
    patience: float | None,
    retry: float,
    down: str,
    at: int,
    minutes: int,
    seed: int,
    cv: float | None,
) -> None:
    p = one_queue_plan(agents=agents, calls=calls, patience_s=patience, retry_share=retry, intervals=12)
    for model in days(p, down, at, minutes):
        assert pool_applies(model)
        draws = Draws(model, seed, 3, cv)
        assert same(simulate_pool(model, draws), simulate_events(model, draws))  # the fallback without numba


def test_pool_does_not_apply_to_a_lost_site_or_two_queues() -> None:
    p = one_queue_plan()
    lost = plan(
        components=[component("power")],
        sites=[site("office", "power", seats=20)],
        queues=[queue("sales", forecast={"interval_minutes": 30, "start": "08:00", "calls": [50] * 4})],
        teams=[team("desk", "office", ["sales"], agents=10)],
    )
    baseline, outage = days(lost, "power", 510, 30)
    assert pool_applies(baseline) and not pool_applies(outage)
    two = plan(
        components=[component("acd")],
        sites=[site("office", seats=20)],
        queues=[
            queue(qid, "acd", forecast={"interval_minutes": 30, "start": "08:00", "calls": [50] * 4})
            for qid in ("sales", "other")
        ],
        teams=[team("desk", "office", ["sales", "other"], agents=10)],
    )
    assert pool_applies(days(p, "acd")[0])
    assert not pool_applies(days(two, "acd")[0])


# ---- every attempt ends once ---------------------------------------------------------------


def random_centre(data: st.DataObject) -> Plan:
    queues = data.draw(st.integers(1, 3))
    teams = data.draw(st.integers(1, 3))
    ids = [f"q{i}" for i in range(queues)]
    return plan(
        components=[
            component("power-a"),
            component("power-b"),
            component("acd"),
            component("ivr", "acd"),
            component("crm"),
            component("vpn"),
        ],
        sites=[
            site("a", "power-a", seats=40),
            site("b", "power-b", seats=40),
            site("home", "vpn", seats=30, kind="home", activation_minutes=data.draw(st.integers(0, 60))),
        ],
        queues=[
            queue(
                qid,
                *data.draw(st.lists(st.sampled_from(["acd", "ivr", "crm"]), unique=True, max_size=2)),
                degraded_by=[{"component": "crm", "aht_factor": 1.4}],
                aht_s=data.draw(st.sampled_from([120, 300, 600])),
                patience_s=data.draw(st.sampled_from([30, 180, 900])),
                retry_share=data.draw(st.sampled_from([0.0, 0.5, 0.9])),
                callbacks_per_hour=data.draw(st.sampled_from([0, 2, 6])),
                forecast={
                    "interval_minutes": data.draw(st.sampled_from([15, 30])),
                    "start": "08:00",
                    "calls": data.draw(st.lists(st.integers(0, 90), min_size=2, max_size=16)),
                },
            )
            for qid in ids
        ],
        teams=[
            team(
                f"t{i}",
                data.draw(st.sampled_from(["a", "b"])),
                data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)),
                agents=data.draw(st.integers(0, 25)),
                home_capable=data.draw(st.sampled_from([0.0, 0.5, 1.0])),
                shift={"start": "08:00", "end": data.draw(st.sampled_from(["10:00", "12:00", "16:00"]))},
            )
            for i in range(teams)
        ],
        strategies=[
            {
                "id": "home",
                "name": "Home",
                "when": {"site_down": "a"},
                "relocate": {"from": "a", "to": "home"},
            },
            {
                "id": "message",
                "name": "Message",
                "when": {"outage": ["partial", "total"]},
                "actions": [{"ivr_message": "Sorry"}],
            },
        ],
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_attempt_ends_exactly_once(data: st.DataObject) -> None:
    p = random_centre(data)
    down = data.draw(st.sampled_from(["power-a", "power-b", "acd", "ivr", "crm"]))
    for model in days(p, down, data.draw(st.integers(480, 560)), data.draw(st.integers(1, 90))):
        draws = Draws(model, data.draw(st.integers(0, 1000)), 0)
        record = simulate(model, draws)
        counts = tally(model, record, draws, ()).counts.sum(axis=1)
        waiting = np.bincount(record.queue[record.outcome == WAITING], minlength=len(model.queues))
        ended = counts[:, [ANSWERED_COUNT, ABANDONED_COUNT, UNREACHABLE_COUNT, DEFLECTED_COUNT]].sum(axis=1)
        assert np.array_equal(counts[:, OFFERED], ended + waiting)
        assert np.array_equal(tally(model, record, draws, ()).backlog[:, -1], waiting)
        answered = record.outcome == ANSWERED
        assert (record.end[answered] >= record.time[answered]).all()
        assert (record.service_end[answered] >= record.end[answered]).all()
        assert (
            record.end[~answered & (record.outcome != WAITING)]
            >= record.time[~answered & (record.outcome != WAITING)]
        ).all()
        assert np.isinf(record.end[record.outcome == WAITING]).all()
        # One customer's attempts are numbered 0, 1, 2... and follow one another.
        ordered = record.sorted()
        firsts = ordered.attempt == 0
        assert firsts.sum() == np.unique(ordered.customer).size


def test_backlog_and_busy_agents_are_counted_exactly() -> None:
    """The tally's vectorised counts against a plain count, on a day with an outage and callbacks."""
    p = one_queue_plan(agents=6, calls=80, retry_share=0.5)
    p = p.model_copy(update={"queues": [p.queues[0].model_copy(update={"callbacks_per_hour": 5})]})
    _, outage = days(p, "acd", 600, 50)
    draws = Draws(outage, 8, 1)
    record = simulate(outage, draws)
    counted = tally(outage, record, draws, ())
    grid = outage.grid
    bounds = [60.0 * (grid.start + grid.interval * (j + 1)) for j in range(grid.count)]
    backlog = [int(((record.time <= b) & (record.end > b)).sum()) for b in bounds]
    assert counted.backlog[0].tolist() == backlog
    spans = [
        (s, e)
        for s, e, o in zip(record.end, record.service_end, record.outcome, strict=True)
        if o == ANSWERED
    ]
    spans += [
        (s, e) for s, e in zip(record.callback_start, record.callback_end, strict=True) if not math.isnan(s)
    ]
    length = grid.interval * 60.0
    busy = [sum(max(0.0, min(e, b) - max(s, b - length)) for s, e in spans) / length for b in bounds]
    assert counted.busy[0] == pytest.approx(busy, abs=1e-9)
    assert max(busy) > 3


def test_agents_never_answer_more_calls_at_once_than_there_are_agents() -> None:
    p = one_queue_plan(agents=7, calls=200)
    baseline, _ = days(p, "acd")
    record = simulate(baseline, Draws(baseline, 5, 0), general=True)
    answered = record.outcome == ANSWERED
    events = np.concatenate(
        [
            np.stack([record.end[answered], np.ones(answered.sum())], 1),
            np.stack([record.service_end[answered], -np.ones(answered.sum())], 1),
        ]
    )
    events = events[np.lexsort((events[:, 1], events[:, 0]))]
    assert np.cumsum(events[:, 1]).max() <= 7


def test_no_outage_means_the_same_day() -> None:
    # A component nothing depends on: the outage day is built identical, and runs identical.
    p = one_queue_plan(retry_share=0.5, spare=True)
    baseline, outage = days(p, "spare")
    assert baseline.changes == outage.changes
    draws = Draws(baseline, 11, 0)
    assert same(simulate(baseline, draws), simulate(outage, draws))


# ---- steady state against exact Erlang A -------------------------------------------------


@pytest.mark.parametrize(
    ("agents", "calls_per_hour", "aht_s", "patience_s"), [(50, 576, 300, 120), (12, 160, 240, 60)]
)
def test_steady_state_matches_exact_erlang_a(
    agents: int, calls_per_hour: int, aht_s: float, patience_s: float
) -> None:
    """A long day at a constant rate: service level and abandonment within the replications' 95% CI."""
    p = one_queue_plan(
        agents=agents,
        calls=calls_per_hour,
        intervals=24,
        aht_s=aht_s,
        patience_s=patience_s,
        shift=("00:00", "24:00"),
        start="00:00",
        interval_minutes=60,
    )
    baseline, _ = days(p, "acd")
    service_level, abandoned = [], []
    for replication in range(30):
        draws = Draws(baseline, 2026, replication)
        counts = tally(baseline, simulate(baseline, draws), draws, ()).counts[
            0, 1:-1
        ]  # no first or last hour
        service_level.append(counts[:, IN_TARGET].sum() / counts[:, OFFERED].sum())
        abandoned.append(counts[:, ABANDONED_COUNT].sum() / counts[:, OFFERED].sum())
    exact = erlang_a(
        Traffic(calls_per_s=calls_per_hour / 3600, aht_s=aht_s, answer_within_s=20, patience_s=patience_s),
        agents,
    )
    for values, truth in ((service_level, exact.service_level), (abandoned, exact.p_abandon)):
        mean = float(np.mean(values))
        half = 2.045 * float(np.std(values, ddof=1)) / math.sqrt(len(values))  # t(0.975, 29)
        # The 95% interval holds the truth 95% of the time; twice its width, all but never.
        assert abs(mean - truth) <= 2 * half, (mean, truth, half)
        assert abs(mean - truth) < 0.01
