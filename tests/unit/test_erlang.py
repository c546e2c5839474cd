"""Erlang C and A against an independent exact solution of the birth-death chain.

The reference here shares nothing with `impact.erlang` but the model: it solves the
chain's balance equations state by state (in logs, anchored at the most likely state,
truncated where a state falls below e**-42 of it, normalised with an exact sum) and
finds each caller's wait by conditioning on the state the caller finds:

- Erlang C: a caller who finds n + k waits for k + 1 completions at rate n mu, an
  Erlang(k + 1) time: P(wait <= T) is a Poisson tail.
- Erlang A: a caller with k ahead passes stages at rates n mu + i theta (i = k..0)
  while their own patience (rate theta) runs: a hypoexponential race. P(answered) and
  the mean wait of answered callers come from its Laplace transform; P(answered
  within T) and P(abandoned within T) from uniformising the tagged caller's chain.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.errors import InvalidInput, Unstable
from standby.impact.erlang import Performance, Traffic, erlang_a, erlang_c, performance
from standby.impact.staffing import staff

TAIL = 42.0  # states below e**-42 (under 1e-18) of the most likely one are left out
PROBABILITY = 1e-9  # absolute, for probabilities and service levels
SECONDS = 1e-9  # relative, for waits


@dataclass(frozen=True)
class Exact:
    p_wait: float
    p_abandon: float
    p_abandon_within: float
    service_level: float
    asa_s: float
    mean_wait_s: float
    occupancy: float


def stationary(lam: float, mu: float, theta: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The states that matter and their probabilities, for M/M/n (theta = 0) or M/M/n+M."""

    def death(j: int) -> float:
        return min(j, n) * mu + max(j - n, 0) * theta

    # The most likely state: the last one the chain climbs to while lambda exceeds the death rate.
    peak = int(lam / mu) if lam < n * mu else n + int((lam - n * mu) / theta)
    down = [0.0]
    j = peak
    while j > 0 and down[-1] > -TAIL:
        down.append(down[-1] - math.log(lam / death(j)))
        j -= 1
    up = [0.0]
    j = peak
    while up[-1] > -TAIL or j < n:
        j += 1
        up.append(up[-1] + math.log(lam / death(j)))
    logs = np.array(down[:0:-1] + up)
    states = np.arange(peak - len(down) + 1, peak + len(up))
    weights = np.exp(logs)
    return states, weights / math.fsum(weights)


def poisson_pmf(mean: float, count: int) -> np.ndarray:
    """P(N = m) for m = 0..count-1, computed in logs so that large means do not underflow."""
    m = np.arange(count, dtype=float)
    log_factorial = np.array([math.lgamma(k + 1.0) for k in range(count)])
    return np.exp(-mean + m * math.log(mean) - log_factorial)


def erlang_c_exact(lam: float, aht: float, n: int, threshold: float) -> Exact:
    mu = 1.0 / aht
    states, pi = stationary(lam, mu, 0.0, n)
    queue = pi[states >= n]
    k = states[states >= n] - n
    mean = n * mu * threshold
    pmf = poisson_pmf(mean, int(mean + 40 * math.sqrt(mean) + k[-1] + 50))
    upper = np.cumsum(pmf[::-1])[::-1]  # P(N >= m), summed from the top: no 1 - cdf cancellation
    asa = math.fsum(queue * (k + 1)) / (n * mu)
    return Exact(
        p_wait=math.fsum(queue),
        p_abandon=0.0,
        p_abandon_within=0.0,
        service_level=math.fsum(pi[states < n]) + math.fsum(queue * upper[k + 1]),
        asa_s=asa,
        mean_wait_s=asa,
        occupancy=lam * aht / n,
    )


def erlang_a_exact(lam: float, aht: float, n: int, threshold: float, patience: float) -> Exact:
    mu = 1.0 / aht
    theta = 1.0 / patience
    states, pi = stationary(lam, mu, theta, n)
    below = math.fsum(pi[states < n])
    size = int(states[-1]) - n + 1
    queue = np.zeros(size)  # by the number k a caller finds waiting ahead
    queue[states[states >= n] - n] = pi[states >= n]
    rates = n * mu + np.arange(size) * theta
    # V_k = sum over i <= k of Exp(r_i): P(answered | k) = E[e**(-theta V)] = prod r_i / (r_i + theta),
    # and E[V; answered | k] = -d/ds prod r_i / (r_i + s) at s = theta = that * sum 1 / (r_i + theta).
    answered = np.exp(np.cumsum(np.log(rates) - np.log(rates + theta)))
    wait_answered = answered * np.cumsum(1.0 / (rates + theta))
    p_answered = below + math.fsum(queue * answered)
    # Within T: uniformise the tagged caller's chain (stage i -> i-1 at r_i, abandon at theta),
    # started from every k at once with the weights of the states found.
    fastest = float(rates[-1] + theta)
    forward, leave = rates / fastest, theta / fastest
    stay = 1.0 - forward - leave
    mean = fastest * threshold
    steps = int(mean + 40 * math.sqrt(mean) + 50)
    pmf = poisson_pmf(mean, steps + 1)
    vector = queue.copy()
    done = gave_up = answered_in_time = abandoned_in_time = 0.0
    for m in range(1, steps + 1):
        done += vector[0] * forward[0]
        gave_up += float(vector.sum()) * leave
        moved = vector * forward
        vector = vector * stay
        vector[:-1] += moved[1:]
        answered_in_time += pmf[m] * done
        abandoned_in_time += pmf[m] * gave_up
    return Exact(
        p_wait=math.fsum(queue),
        p_abandon=1.0 - p_answered,
        p_abandon_within=abandoned_in_time,
        service_level=below + answered_in_time,
        asa_s=math.fsum(queue * wait_answered) / p_answered,
        # Little's law on the queue: the mean wait of all callers is E[number waiting] / lambda.
        mean_wait_s=math.fsum(queue * np.arange(size)) / lam,
        occupancy=lam * aht * p_answered / n,
    )


AGENTS = [1, 2, 5, 50, 1000, 20_000]


def cases() -> list[tuple[int, float, float, float, float | None]]:
    """(agents, load per agent, aht_s, answer_within_s, patience_s) for each size."""
    grid: list[tuple[int, float, float, float, float | None]] = []
    for n in AGENTS:
        for rho in (0.37 / n, 0.5, 0.9, 0.99):  # 0.37 Erlangs in all, half, near and at the edge
            grid.append((n, rho, 180.0, 20.0, None))
            grid.append((n, rho, 180.0, 20.0, 300.0))
        grid.append((n, 0.93, 37.3, 7.5, None))  # fractional everything
        grid.append((n, 0.95, 37.3, 7.5, 30.0))
        for rho in (1.2, 2.0):  # above capacity: Erlang A only
            grid.append((n, rho, 180.0, 20.0, 300.0))
        grid.append((n, 1.1, 240.0, 15.0, 2400.0))
    return grid


def case_id(case: tuple[int, float, float, float, float | None]) -> str:
    n, rho, aht, within, patience = case
    model = "C" if patience is None else f"A{patience:g}"
    return f"{model}-n{n}-rho{rho:.3g}-aht{aht:g}-T{within:g}"


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_agrees_with_the_exact_chain(case: tuple[int, float, float, float, float | None]) -> None:
    n, rho, aht, within, patience = case
    lam = rho * n / aht
    traffic = Traffic(calls_per_s=lam, aht_s=aht, answer_within_s=within, patience_s=patience)
    if patience is None:
        got, want = erlang_c(traffic, n), erlang_c_exact(lam, aht, n, within)
    else:
        got, want = erlang_a(traffic, n), erlang_a_exact(lam, aht, n, within, patience)
    assert got.p_wait == pytest.approx(want.p_wait, abs=PROBABILITY)
    assert got.p_abandon == pytest.approx(want.p_abandon, abs=PROBABILITY)
    assert got.p_abandon_within_threshold == pytest.approx(want.p_abandon_within, abs=PROBABILITY)
    assert got.service_level == pytest.approx(want.service_level, abs=PROBABILITY)
    assert got.occupancy == pytest.approx(want.occupancy, abs=PROBABILITY)
    assert got.asa_s == pytest.approx(want.asa_s, rel=SECONDS, abs=1e-12)
    assert got.mean_wait_s == pytest.approx(want.mean_wait_s, rel=SECONDS, abs=1e-12)
    answered = 1.0 - want.p_abandon
    assert got.service_level_of_answered == pytest.approx(want.service_level / answered, abs=PROBABILITY)
    assert got.service_level_excluding_short_abandons == pytest.approx(
        want.service_level / (1.0 - want.p_abandon_within), abs=PROBABILITY
    )


def test_the_worked_example_every_contact_centre_text_uses() -> None:
    # 100 calls in 30 minutes, 180 s each (10 Erlangs), 80% answered within 20 s.
    traffic = Traffic.over_interval(calls=100, interval_minutes=30, aht_s=180, answer_within_s=20)
    assert traffic.offered_load == pytest.approx(10.0)
    published = {  # agents: P(wait), service level, ASA in seconds, as published (rounded)
        11: (0.6821, 0.3896, 122.8),
        12: (0.4494, 0.6402, 40.4),
        13: (0.2853, 0.7956, 17.1),
        14: (0.1741, 0.8884, 7.8),
    }
    for agents, (p_wait, service_level, asa) in published.items():
        result = erlang_c(traffic, agents)
        assert round(result.p_wait, 4) == p_wait
        assert round(result.service_level, 4) == service_level
        assert round(result.asa_s, 1) == asa
        assert result.occupancy == pytest.approx(10 / agents)
    plan = staff(traffic, target=0.8)
    assert plan.agents == 14
    assert plan.limited_by == ("service level",)


@pytest.mark.parametrize(("agents", "load"), [(1, 0.37), (11, 10.0), (60, 55.5), (3000, 2950.25)])
def test_erlang_c_through_erlang_b(agents: int, load: float) -> None:
    # Erlang B by its textbook recurrence, then C = n B / (n - A (1 - B)).
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    if (agents, load) == (11, 10.0):
        assert round(b, 4) == 0.1632  # the classic table's value for 11 lines and 10 Erlangs
    traffic = Traffic(calls_per_s=load / 180, aht_s=180, answer_within_s=20)
    expected = agents * b / (agents - load * (1 - b))
    assert erlang_c(traffic, agents).p_wait == pytest.approx(expected, rel=1e-12)


def test_erlang_c_refuses_a_load_at_or_above_the_agents() -> None:
    traffic = Traffic.over_interval(calls=100, interval_minutes=30, aht_s=180, answer_within_s=20)
    for agents in (1, 9, 10):
        with pytest.raises(Unstable) as raised:
            erlang_c(traffic, agents)
        message = str(raised.value)
        assert "without end" in message and "At least 11 agents" in message
        assert isinstance(raised.value, InvalidInput)
    fractional = Traffic(calls_per_s=0.37 / 180, aht_s=180, answer_within_s=20)
    assert fractional.min_stable_agents() == 1
    assert erlang_c(fractional, 1).p_wait == pytest.approx(0.37)


def test_erlang_a_answers_any_load() -> None:
    traffic = Traffic.over_interval(
        calls=1000, interval_minutes=30, aht_s=180, answer_within_s=20, patience_s=60
    )
    result = erlang_a(traffic, 10)  # 100 Erlangs on 10 agents
    assert result.p_wait == pytest.approx(1.0)
    assert result.occupancy == pytest.approx(1.0)
    assert result.p_abandon == pytest.approx(0.9, abs=1e-3)  # the agents carry 10 of the 100 Erlangs
    assert performance(traffic, 10) == result


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("calls_per_s", 0.0, "calls_per_s must be a positive number"),
        ("calls_per_s", -1.0, "calls_per_s must be a positive number"),
        ("calls_per_s", math.nan, "calls_per_s must be a positive number"),
        ("aht_s", math.inf, "aht_s must be a positive number of seconds"),
        ("aht_s", 0.0, "aht_s must be a positive number of seconds"),
        ("answer_within_s", -20.0, "answer_within_s must be a positive number of seconds"),
        ("patience_s", 0.0, "patience_s must be a positive number of seconds"),
        ("aht_s", 2e9, "aht_s must be from 0.001 to 1e+09 seconds"),
        ("calls_per_s", 1e9, "the offered load"),
    ],
)
def test_bad_values_are_named(field: str, value: float, says: str) -> None:
    values: dict[str, float | None] = {"calls_per_s": 0.05, "aht_s": 180.0, "answer_within_s": 20.0}
    values[field] = value
    with pytest.raises(InvalidInput, match=re.escape(says)):
        Traffic(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("agents", [0, -3, 2_000_000, 1.5, True])
def test_bad_agents_are_refused(agents: object) -> None:
    traffic = Traffic(calls_per_s=0.01, aht_s=180, answer_within_s=20, patience_s=60)
    with pytest.raises(InvalidInput, match="agents must be"):
        erlang_a(traffic, agents)  # type: ignore[arg-type]


def test_over_interval_checks_its_own_values() -> None:
    with pytest.raises(InvalidInput, match="interval_minutes must be a positive number of minutes"):
        Traffic.over_interval(calls=10, interval_minutes=0, aht_s=180, answer_within_s=20)
    with pytest.raises(InvalidInput, match="calls must be a positive number"):
        Traffic.over_interval(calls=-5, interval_minutes=30, aht_s=180, answer_within_s=20)


CLASSIC = {"calls": 100, "interval_minutes": 30, "aht_s": 180, "answer_within_s": 20}


def test_to_dict_is_flat_and_complete() -> None:
    traffic = Traffic.over_interval(**CLASSIC, patience_s=120)
    record = erlang_a(traffic, 12).to_dict()
    assert record["model"] == "erlang-a" and record["agents"] == 12
    assert record["offered_load_erlangs"] == pytest.approx(10.0)
    assert record["patience_s"] == 120 and record["answer_within_s"] == 20
    assert {
        "service_level",
        "service_level_of_answered",
        "service_level_excluding_short_abandons",
        "asa_s",
        "mean_wait_s",
        "p_wait",
        "p_abandon",
        "p_abandon_within_threshold",
        "occupancy",
    } <= set(record)


traffic_values = st.fixed_dictionaries(
    {
        "load": st.floats(0.05, 3000.0),
        "aht_s": st.floats(5.0, 3600.0),
        "answer_within_s": st.floats(0.5, 600.0),
        "patience_s": st.one_of(st.none(), st.floats(1.0, 7200.0)),
    }
)


def make(values: dict[str, float | None]) -> Traffic:
    load, aht = values["load"], values["aht_s"]
    assert load is not None and aht is not None
    within = values["answer_within_s"]
    assert within is not None
    return Traffic(calls_per_s=load / aht, aht_s=aht, answer_within_s=within, patience_s=values["patience_s"])


@settings(max_examples=150, deadline=None)
@given(traffic_values, st.integers(0, 60))
def test_more_agents_never_serve_worse(values: dict[str, float | None], extra: int) -> None:
    traffic = make(values)
    base = traffic.min_stable_agents() if traffic.patience_s is None else 1
    n = base + extra + int(traffic.offered_load * extra / 60)
    fewer, more = performance(traffic, n), performance(traffic, n + 1)
    # Far beyond capacity a service level of 1e-12 is the difference of two numbers near 1:
    # its absolute accuracy (about 1e-12) is what bounds the comparison there.
    assert more.service_level >= fewer.service_level - 1e-11
    assert more.p_wait <= fewer.p_wait + 1e-11
    assert more.p_abandon <= fewer.p_abandon + 1e-11
    assert more.occupancy <= fewer.occupancy + 1e-11
    assert more.asa_s <= fewer.asa_s * (1 + 1e-9) + 1e-12
    for result in (fewer, more):
        for share in (
            result.service_level,
            result.service_level_of_answered,
            result.service_level_excluding_short_abandons,
            result.p_wait,
            result.p_abandon,
            result.p_abandon_within_threshold,
            result.occupancy,
        ):
            assert 0.0 <= share <= 1.0
        assert result.p_abandon_within_threshold <= result.p_abandon + 1e-11
        assert result.service_level <= result.service_level_of_answered + 1e-11


def gaps_to_erlang_c(
    load: float, agents: int, aht: float, within: float, patience: float
) -> tuple[float, float]:
    """How far Erlang A is from Erlang C: probabilities summed, and ASA relative."""
    impatient = Traffic(calls_per_s=load / aht, aht_s=aht, answer_within_s=within, patience_s=patience)
    c = erlang_c(Traffic(calls_per_s=load / aht, aht_s=aht, answer_within_s=within), agents)
    a = erlang_a(impatient, agents)
    gap = abs(a.service_level - c.service_level) + abs(a.p_wait - c.p_wait) + a.p_abandon
    return gap, abs(a.asa_s / c.asa_s - 1) if c.asa_s > 1e-200 else 0.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.05, 5000.0), st.floats(0.05, 0.99), st.floats(5.0, 1800.0), st.floats(0.5, 300.0))
def test_erlang_a_tends_to_erlang_c_as_patience_grows(
    load: float, rho: float, aht: float, within: float
) -> None:
    agents = max(1, math.ceil(load / rho))
    if load >= agents:
        agents += 1
    gaps = [gaps_to_erlang_c(load, agents, aht, within, patience) for patience in (1e5, 1e6, 1e7, 1e8, 1e9)]
    for (gap, asa_gap), (next_gap, next_asa_gap) in itertools.pairwise(gaps):
        assert next_gap <= gap + 1e-12 and next_asa_gap <= asa_gap + 1e-12
    assert gaps[-1][0] <= gaps[0][0] / 10 + 1e-12 and gaps[-1][1] <= gaps[0][1] / 10 + 1e-12


def test_erlang_a_meets_erlang_c_like_one_over_patience() -> None:
    # Away from the edge of capacity the difference is first order in 1/patience.
    small, smaller = (gaps_to_erlang_c(9.0, 10, 180.0, 20.0, p)[0] for p in (1e7, 1e9))
    assert small < 1e-4 and smaller < 1e-6
    assert small / smaller == pytest.approx(100, rel=0.02)


@settings(max_examples=120, deadline=None)
@given(
    traffic_values,
    st.floats(0.05, 0.999),
    st.one_of(st.none(), st.floats(0.3, 1.0)),
    st.one_of(st.none(), st.floats(0.001, 0.5)),
)
def test_staffing_returns_the_minimum(
    values: dict[str, float | None], target: float, max_occupancy: float | None, max_abandon: float | None
) -> None:
    traffic = make(values)
    if traffic.patience_s is None:
        max_abandon = None
    plan = staff(traffic, target=target, max_occupancy=max_occupancy, max_abandon=max_abandon)

    def meets(result: Performance) -> bool:
        return (
            result.service_level >= target
            and (max_occupancy is None or result.occupancy <= max_occupancy)
            and (max_abandon is None or result.p_abandon <= max_abandon)
        )

    assert plan.performance == performance(traffic, plan.agents)
    assert meets(plan.performance)
    fewer = plan.agents - 1
    if fewer == 0:
        assert plan.limited_by == ()
    elif traffic.patience_s is None and fewer < traffic.min_stable_agents():
        assert plan.limited_by == ("stability",)
    else:
        assert plan.limited_by
        assert not meets(performance(traffic, fewer))


def test_staffing_reports_what_binds() -> None:
    traffic = Traffic.over_interval(**CLASSIC, patience_s=120)
    assert staff(traffic, target=0.5).limited_by == ("service level",)
    tight = staff(traffic, target=0.5, max_occupancy=0.6)
    assert tight.limited_by == ("occupancy",) and tight.performance.occupancy <= 0.6
    few_leave = staff(traffic, target=0.5, max_abandon=0.001)
    assert "abandonment" in few_leave.limited_by and few_leave.performance.p_abandon <= 0.001
    erlang_c_only = Traffic(calls_per_s=10.5 / 180, aht_s=180, answer_within_s=600)
    assert staff(erlang_c_only, target=0.01).limited_by == ("stability",)
    assert staff(erlang_c_only, target=0.01).agents == 11
    assert staff(erlang_c_only, target=1.0).performance.service_level == 1.0


def test_staffing_at_twenty_thousand_agents() -> None:
    traffic = Traffic(calls_per_s=18_000 / 180, aht_s=180, answer_within_s=20, patience_s=300)
    plan = staff(traffic, target=0.9, max_occupancy=0.95)
    assert 18_000 < plan.agents < 19_000
    assert plan.performance.service_level >= 0.9 and plan.performance.occupancy <= 0.95
    fewer = performance(traffic, plan.agents - 1)
    assert fewer.service_level < 0.9 or fewer.occupancy > 0.95


@pytest.mark.parametrize(
    ("goals", "says"),
    [
        ({"target": 0.0}, "target must be a share above 0 and at most 1"),
        ({"target": 1.5}, "target must be a share above 0 and at most 1"),
        ({"target": 0.8, "max_occupancy": 0.0}, "max_occupancy must be a share"),
        ({"target": 0.8, "max_abandon": 0.05}, "max_abandon needs patience_s"),
    ],
)
def test_staffing_refuses_bad_goals(goals: dict[str, float], says: str) -> None:
    traffic = Traffic(calls_per_s=0.05, aht_s=180, answer_within_s=20)
    with pytest.raises(InvalidInput, match=says):
        staff(traffic, **goals)
