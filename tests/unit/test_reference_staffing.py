"""The reference plan is staffed from the Erlang figures, and its normal day is a realistic one.

The teams' comment in reference.yaml quotes, for each queue and half hour, the fewest agents
meeting the queue's target under Erlang A; each group of teams sharing queues is sized so its
agents on shift follow the sum of those figures (least squared gap, a shortfall counting
twice). These tests recompute both from the plan, and simulate the normal day as
`standby impact` does (20 replications, seed 1): about on target, with callers who wait and
callers who hang up, not a centre where nobody waits.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from _plans import REFERENCE, reference_plan

from standby.impact.erlang import Traffic
from standby.impact.results import Scenario
from standby.impact.simulation import run_impact
from standby.impact.staffing import staff
from standby.plan.schema import Plan, Team

SHORTFALL_WEIGHT = 2.0
"""A half hour short of agents counts twice a half hour with agents to spare: waiting callers carry over."""


def requirement(plan: Plan, queue_id: str) -> list[int]:
    """Erlang A's fewest agents for each interval of the queue's forecast, as `standby staff` gives."""
    queue = next(q for q in plan.queues if q.id == queue_id)
    assert queue.forecast is not None
    return [
        staff(
            Traffic.over_interval(
                calls=calls,
                interval_minutes=queue.forecast.interval_minutes,
                aht_s=queue.aht_s,
                answer_within_s=queue.service_level.answer_within_s,
                patience_s=queue.patience_s,
            ),
            target=queue.service_level.target,
        ).agents
        for calls in queue.forecast.calls
    ]


def quoted_requirements() -> dict[str, list[int]]:
    """The figures the teams' comment in reference.yaml quotes, by queue."""
    found = re.findall(r"^#\s+erlang-a (\S+):((?: +\d+)+)$", REFERENCE.read_text(encoding="utf-8"), re.M)
    return {queue: [int(n) for n in numbers.split()] for queue, numbers in found}


def team_groups(plan: Plan) -> list[tuple[list[Team], set[str]]]:
    """Teams joined by the queues they share, with those queues (connected components)."""
    groups: list[tuple[list[Team], set[str]]] = []
    for team in plan.teams:
        skills = set(team.queues)
        joined = [g for g in groups if g[1] & skills]
        for g in joined:
            groups.remove(g)
        teams = [t for g in joined for t in g[0]] + [team]
        groups.append((teams, skills.union(*(g[1] for g in joined))))
    return groups


def on_shift(plan: Plan, team: Team) -> np.ndarray:
    """1 for each forecast interval the team works, else 0."""
    forecast = plan.queues[0].forecast
    assert forecast is not None
    starts = [forecast.start + i * forecast.interval_minutes for i in range(len(forecast.calls))]
    return np.array([1 if team.shift.start <= s < team.shift.end else 0 for s in starts])


def gap(sizes: np.ndarray, shifts: np.ndarray, need: np.ndarray) -> np.ndarray:
    """The weighted squared gap between agents on shift and agents required, for each row of sizes."""
    difference = sizes @ shifts - need
    return (np.where(difference < 0, SHORTFALL_WEIGHT, 1.0) * difference**2).sum(axis=-1)


def test_the_comment_quotes_erlang_a_for_every_queue_and_half_hour() -> None:
    plan = reference_plan()
    assert quoted_requirements() == {q.id: requirement(plan, q.id) for q in plan.queues}


def test_every_team_is_sized_to_follow_its_queues_requirement() -> None:
    plan = reference_plan()
    groups = team_groups(plan)
    assert [sorted(q) for _, q in groups] == [["emergency"], ["billing", "moving"]]
    for teams, queues in groups:
        need = np.sum([requirement(plan, q) for q in queues], axis=0)
        shifts = np.array([on_shift(plan, t) for t in teams])
        planned = np.array([t.agents for t in teams])
        # Every size within 8 of the plan's, the plan's own included: its gap must be the least.
        box = np.array(list(itertools.product(range(-8, 9), repeat=len(teams)))) + planned
        costs = gap(box, shifts, need)
        best = box[np.argmin(costs)]
        assert list(best) == list(planned), (queues, best)
        assert (np.abs(best - planned) < 8).all()  # not at the box's edge: a true minimum
        # And the day is covered about, not generously: within 15% of the agent-hours required.
        assert planned @ shifts.sum(axis=1) == pytest.approx(need.sum(), rel=0.15)


def test_the_normal_day_is_about_on_target_with_callers_who_wait_and_hang_up() -> None:
    plan = reference_plan()
    result = run_impact(plan, Scenario(("acd",), 19 * 60 + 50, 5), replications=20, seed=1, workers=1)
    for queue in plan.queues:
        rows = result.baseline.queues[queue.id]
        offered = sum(r.offered for r in rows)
        answered = sum(r.answered for r in rows)
        level = sum(r.answered_in_target for r in rows) / offered
        assert level == pytest.approx(queue.service_level.target, abs=0.05), queue.id
        assert sum(r.abandoned for r in rows) / offered > 0.01, queue.id
        asa = sum((r.asa_s or 0.0) * r.answered for r in rows) / answered
        assert asa > 1.0, queue.id
        # Some half hours run below target: the day is not staffed so that nobody waits.
        assert any(r.service_level is not None and r.service_level < queue.service_level.target for r in rows)
    assert result.baseline.customers_affected.mean > 500
