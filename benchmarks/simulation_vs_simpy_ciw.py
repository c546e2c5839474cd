"""Standby's simulation against SimPy and Ciw: simulated calls per second, and accuracy against Erlang A.

The same single-queue day in each tool: Poisson arrivals at a constant rate, N identical
agents answering first come, first served, exponential handling times and exponential
patience (callers hang up after it), no retries. Each tool runs its own random numbers
for the same model, replication after replication, in one process. Measured per tool:

- simulated calls per second: calls offered over wall time, everything included (drawing
  the numbers, simulating, counting what the figures need);
- service level (answered within the threshold over offered, the strict definition) and
  abandonment (abandoned over offered), over calls arriving after the first hour and
  before the last (the day starts empty), as a mean over replications with its 95%
  interval, against exact Erlang A (`standby.impact.erlang`).

Standby is timed twice: as `run_impact` runs such a day (`impact.pool`, the recursion on
the agents' free times, used automatically for one queue and one pool of agents), and on
its general engine (`impact.engine`, the one every multi-queue, multi-team plan uses),
forced onto the same day. The tools run in rounds: each round runs every tool's share of
the replications, one tool after the other, so that all meet the same load. "on CPU" is
the ratio of calls per second of this process's CPU time (which leaves out the waits for a
busy CPU).

    benchmarks/install-peers    # SimPy 4.1.2 and Ciw 3.2.7
    .venv/bin/python benchmarks/simulation_vs_simpy_ciw.py [--replications 10] [--rounds 2] [--hours 24]
        [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from _centre_day import calls_per_s, interleaved, mean_ci, speed_ratio
from standby.impact.day import DayModel, build_days
from standby.impact.draws import Draws
from standby.impact.engine import simulate
from standby.impact.erlang import Traffic, erlang_a
from standby.impact.results import Scenario
from standby.impact.strategies import resolve
from standby.impact.tally import ABANDONED_COUNT, IN_TARGET, OFFERED, tally
from standby.plan.schema import Plan
from standby.plan.topology import Topology


@dataclass(frozen=True)
class Day:
    """The model every tool simulates (seconds)."""

    agents: int
    calls_per_hour: float
    aht_s: float
    patience_s: float
    answer_within_s: float
    hours: int

    @property
    def rate(self) -> float:
        return self.calls_per_hour / 3600.0

    @property
    def length_s(self) -> float:
        return self.hours * 3600.0


@dataclass
class Run:
    """One replication of one tool: calls offered and what became of those in the window."""

    calls: int
    seconds: float
    offered: int
    in_target: int
    abandoned: int


# ---- Standby ---------------------------------------------------------------------------------


def standby_day(day: Day) -> DayModel:
    plan = Plan.model_validate(
        {
            "organisation": {"name": "Benchmark"},
            "components": [{"id": "acd", "name": "ACD"}],
            "sites": [{"id": "office", "name": "Office", "seats": day.agents}],
            "queues": [
                {
                    "id": "calls",
                    "name": "Calls",
                    "depends_on": ["acd"],
                    "service_level": {"answer_within_s": day.answer_within_s, "target": 0.8},
                    "aht_s": day.aht_s,
                    "patience_s": day.patience_s,
                    "forecast": {
                        "interval_minutes": 60,
                        "start": "00:00",
                        "calls": [day.calls_per_hour] * day.hours,
                    },
                }
            ],
            "teams": [
                {
                    "id": "agents",
                    "site": "office",
                    "queues": ["calls"],
                    "agents": day.agents,
                    "shift": {"start": "00:00", "end": f"{day.hours:02d}:00"},
                }
            ],
        }
    )
    effect = resolve(plan, Topology.from_plan(plan), Scenario(("acd",), 60, 1))
    baseline, _ = build_days(plan, effect)
    return baseline


def run_standby(day: Day, model: DayModel, replication: int, *, general: bool) -> Run:
    began = time.perf_counter()
    draws = Draws(model, 2026, replication)
    record = simulate(model, draws, general=general)
    counts = tally(model, record, draws, ()).counts[0]
    seconds = time.perf_counter() - began
    window = counts[1 : day.hours - 1]  # hourly intervals: not the first hour, not the last
    return Run(
        calls=int(counts[:, OFFERED].sum()),
        seconds=seconds,
        offered=int(window[:, OFFERED].sum()),
        in_target=int(window[:, IN_TARGET].sum()),
        abandoned=int(window[:, ABANDONED_COUNT].sum()),
    )


# ---- SimPy ----------------------------------------------------------------------------------


def run_simpy(day: Day, replication: int) -> Run:
    import simpy

    began = time.perf_counter()
    rng = np.random.default_rng([2026, replication])
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=day.agents)
    calls: list[tuple[float, float, bool]] = []  # arrival, wait, answered

    def caller(arrived: float, handling: float, patience: float) -> Any:
        with agents.request() as request:
            outcome = yield request | env.timeout(patience)
            if request in outcome:
                calls.append((arrived, env.now - arrived, True))
                yield env.timeout(handling)
            else:
                calls.append((arrived, env.now - arrived, False))

    def arrivals() -> Any:
        while True:
            yield env.timeout(rng.exponential(1.0 / day.rate))
            env.process(caller(env.now, rng.exponential(day.aht_s), rng.exponential(day.patience_s)))

    env.process(arrivals())
    env.run(until=day.length_s)
    seconds = time.perf_counter() - began
    return _counted(day, calls, seconds)


# ---- Ciw --------------------------------------------------------------------------------------


def run_ciw(day: Day, replication: int) -> Run:
    import ciw

    began = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(day.rate)],
        service_distributions=[ciw.dists.Exponential(1.0 / day.aht_s)],
        number_of_servers=[day.agents],
        reneging_time_distributions=[ciw.dists.Exponential(1.0 / day.patience_s)],
    )
    ciw.seed(2026 * 1000 + replication)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(day.length_s)
    calls = [(r.arrival_date, r.waiting_time, r.record_type == "service") for r in sim.get_all_records()]
    seconds = time.perf_counter() - began
    return _counted(day, calls, seconds)


def _counted(day: Day, calls: list[tuple[float, float, bool]], seconds: float) -> Run:
    lo, hi = 3600.0, day.length_s - 3600.0
    window = [(w, ok) for t, w, ok in calls if lo <= t < hi]
    return Run(
        calls=len(calls),
        seconds=seconds,
        offered=len(window),
        in_target=sum(1 for w, ok in window if ok and w <= day.answer_within_s),
        abandoned=sum(1 for _, ok in window if not ok),
    )


# ---- the comparison -----------------------------------------------------------------------


def summarise(name: str, runs: list[Run]) -> dict[str, Any]:
    calls = sum(r.calls for r in runs)
    seconds = sum(r.seconds for r in runs)
    sl, sl_ci = mean_ci([r.in_target / r.offered for r in runs])
    ab, ab_ci = mean_ci([r.abandoned / r.offered for r in runs])
    return {
        "tool": name,
        "replications": len(runs),
        "calls": calls,
        "seconds": seconds,
        "calls_per_s": calls / seconds,
        "service_level": sl,
        "service_level_ci": sl_ci,
        "abandonment": ab,
        "abandonment_ci": ab_ci,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--calls-per-hour", type=float, default=576.0)
    parser.add_argument("--aht-s", type=float, default=300.0)
    parser.add_argument("--patience-s", type=float, default=120.0)
    parser.add_argument("--answer-within-s", type=float, default=20.0)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--standby-replications", type=int, default=100, help="more, to time it steadily")
    parser.add_argument("--rounds", type=int, default=2, help="each runs every tool's share in turn")
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 6 hours, 2 rounds, few replications"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.replications, args.standby_replications = 2, 4, 20
    day = Day(args.agents, args.calls_per_hour, args.aht_s, args.patience_s, args.answer_within_s, args.hours)
    exact = erlang_a(
        Traffic(
            calls_per_s=day.rate,
            aht_s=day.aht_s,
            answer_within_s=day.answer_within_s,
            patience_s=day.patience_s,
        ),
        day.agents,
    )
    model = standby_day(day)
    tools: list[tuple[str, int, Callable[[int], Run]]] = [
        ("Standby", args.standby_replications, lambda i: run_standby(day, model, i, general=False)),
        ("Standby, general engine", args.replications, lambda i: run_standby(day, model, i, general=True)),
        ("SimPy 4.1.2", args.replications, lambda i: run_simpy(day, i)),
        ("Ciw 3.2.7", args.replications, lambda i: run_ciw(day, i)),
    ]
    console = Console(stderr=args.json, width=max(Console().width, 150))
    rounds_run = interleaved(tools, args.rounds, lambda text: console.print(text, style="dim"))
    runs = rounds_run.runs
    results = [summarise(name, rounds_run.all(t)) for t, (name, _, _) in enumerate(tools)]
    standby = results[0]["calls_per_s"]
    for row in results:
        row["standby_ratio"] = standby / row["calls_per_s"]
        row["service_level_error_pp"] = 100 * (row["service_level"] - exact.service_level)
        row["abandonment_error_pp"] = 100 * (row["abandonment"] - exact.p_abandon)
    for t, (row, rounds) in enumerate(zip(results, runs, strict=True)):
        row["round_ratios"] = [
            calls_per_s(mine) / calls_per_s(theirs) for mine, theirs in zip(runs[0], rounds, strict=True)
        ]
        row["calls_per_cpu_s"] = rounds_run.calls_per_cpu_s(t)
        row["cpu_ratio"] = rounds_run.calls_per_cpu_s(0) / row["calls_per_cpu_s"]
    general = results[1]["calls_per_s"]
    report = {
        "day": day.__dict__,
        "rounds": args.rounds,
        "exact_erlang_a": {"service_level": exact.service_level, "abandonment": exact.p_abandon},
        "tools": results,
        "ratios": [
            speed_ratio(f"{path} vs {peer}, one-queue day", mine / results[t]["calls_per_s"], target)
            for path, mine in (("run_impact's path", standby), ("general engine", general))
            for t, peer, target in ((2, "SimPy", 20.0), (3, "Ciw", 50.0))
        ],
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    table = Table(
        title=(
            f"One queue, {day.agents} agents, {day.calls_per_hour:g} calls/h, AHT {day.aht_s:g}s, patience"
            f" {day.patience_s:g}s, {day.hours}h; exact Erlang A: service level {exact.service_level:.4f},"
            f" abandonment {exact.p_abandon:.4f}"
        )
    )
    for column in (
        "tool",
        "calls",
        "seconds",
        "calls/s",
        "Standby is",
        "by round",
        "on CPU",
        "service level",
        "vs exact",
        "abandonment",
        "vs exact",
    ):
        table.add_column(column, justify="left" if column == "tool" else "right")
    for row in results:
        table.add_row(
            row["tool"],
            f"{row['calls']:,}",
            f"{row['seconds']:.2f}",
            f"{row['calls_per_s']:,.0f}",
            f"{row['standby_ratio']:.1f}x",
            " ".join(f"{r:.1f}" for r in row["round_ratios"]),
            f"{row['cpu_ratio']:.1f}x",
            f"{row['service_level']:.4f} ± {row['service_level_ci']:.4f}",
            f"{row['service_level_error_pp']:+.2f} pp",
            f"{row['abandonment']:.4f} ± {row['abandonment_ci']:.4f}",
            f"{row['abandonment_error_pp']:+.2f} pp",
        )
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
