"""Standby's general engine against SimPy and Ciw on a day with several queues, skills and shifts.

The day (benchmarks/_centre_day.py): 07:00 to 21:00 in 30-minute intervals, four queues
with their own forecast, handling time and patience, five teams with several skills in
priority order on staggered shifts, exponential handling and patience, no retries.
SimPy and Ciw run it with the rules of Standby's general engine
(benchmarks/_centre_day_peers.py). Measured per tool, in one process, in rounds: each round
runs every tool's share of the replications, one tool after the other, so that all meet the
same load; the table gives each round's ratio too, and the ratio of calls per second of
this process's CPU time (which leaves out the waits for a busy CPU):

- simulated calls per second: calls offered over wall time, everything included
  (drawing the numbers, simulating, and for Standby counting the report's figures per
  queue and interval);
- service level (answered within the queue's threshold over offered), answered and
  abandoned shares, over calls arriving before the last interval, per queue and in all,
  as a mean over replications with its 95% interval. "agrees" counts the figures (service
  level, answered and abandoned, in all and per queue: 15) whose mean is within Standby's
  by no more than the two intervals combined; by chance alone one in twenty or so misses.

    benchmarks/install-peers    # SimPy 4.1.2 and Ciw 3.2.7
    .venv/bin/python benchmarks/simulation_day.py [--replications 20] [--rounds 4] [--scale 1]
        [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from _centre_day import (
    INTERVAL_S,
    SHAPE,
    START_MINUTE,
    CentreDay,
    Counted,
    agree,
    calls_per_s,
    centre_day,
    interleaved,
    shares,
    speed_ratio,
)
from _centre_day_peers import run_ciw, run_simpy
from standby.impact.day import DayModel, build_days
from standby.impact.draws import Draws
from standby.impact.engine import simulate
from standby.impact.results import Scenario
from standby.impact.strategies import resolve
from standby.impact.tally import ABANDONED_COUNT, ANSWERED_COUNT, IN_TARGET, OFFERED, tally
from standby.plan.schema import Plan
from standby.plan.topology import Topology


def _clock(seconds: float) -> str:
    minute = START_MINUTE + round(seconds / 60.0)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def standby_day(day: CentreDay) -> DayModel:
    """The day as a Standby plan, built into the day the engine runs (without the outage)."""
    plan = Plan.model_validate(
        {
            "organisation": {"name": "Benchmark"},
            "components": [{"id": "acd", "name": "ACD"}],
            "sites": [{"id": "office", "name": "Office", "seats": sum(t.agents for t in day.teams)}],
            "queues": [
                {
                    "id": q.id,
                    "name": q.id.title(),
                    "depends_on": ["acd"],
                    "service_level": {"answer_within_s": q.answer_within_s, "target": 0.8},
                    "aht_s": q.aht_s,
                    "patience_s": q.patience_s,
                    "forecast": {
                        "interval_minutes": int(INTERVAL_S // 60),
                        "start": _clock(0.0),
                        "calls": list(q.calls),
                    },
                }
                for q in day.queues
            ],
            "teams": [
                {
                    "id": t.id,
                    "site": "office",
                    "queues": [day.queues[s].id for s in t.skills],
                    "agents": t.agents,
                    "shift": {"start": _clock(t.start_s), "end": _clock(t.end_s)},
                }
                for t in day.teams
            ],
        }
    )
    effect = resolve(plan, Topology.from_plan(plan), Scenario(("acd",), 60, 1))
    baseline, _ = build_days(plan, effect)
    return baseline


def run_standby(day: CentreDay, model: DayModel, replication: int) -> Counted:
    """One replication on Standby's general engine, counted as `run_impact` counts it."""
    began = time.perf_counter()
    draws = Draws(model, 2026, replication)
    record = simulate(model, draws, general=True)
    counts = tally(model, record, draws, ()).counts
    seconds = time.perf_counter() - began
    window = counts[:, :-1]  # not the last interval: its calls may still be waiting at the end

    def per_queue(field: int) -> list[int]:
        return [int(v) for v in window[:, :, field].sum(axis=1)]

    return Counted(
        calls=int(counts[:, :, OFFERED].sum()),
        seconds=seconds,
        offered=per_queue(OFFERED),
        answered=per_queue(ANSWERED_COUNT),
        in_target=per_queue(IN_TARGET),
        abandoned=per_queue(ABANDONED_COUNT),
    )


def summarise(name: str, day: CentreDay, runs: list[Counted]) -> dict[str, Any]:
    """Speed and figures of one tool's replications."""
    calls = sum(r.calls for r in runs)
    seconds = sum(r.seconds for r in runs)
    return {
        "tool": name,
        "replications": len(runs),
        "calls": calls,
        "seconds": seconds,
        "calls_per_s": calls / seconds,
        "all": shares(runs),
        "queues": {q.id: shares(runs, i) for i, q in enumerate(day.queues)},
    }


def main(argv: list[str] | None = None) -> int:
    """Run every tool on the day and print (or dump as JSON) speed, figures and agreement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replications", type=int, default=20, help="of SimPy and of Ciw, over all rounds")
    parser.add_argument("--standby-replications", type=int, default=100, help="more, to time it steadily")
    parser.add_argument("--rounds", type=int, default=4, help="each runs every tool's share in turn")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every volume and team")
    parser.add_argument("--quick", action="store_true", help="a short run: 2 rounds, 4 peer replications")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.replications, args.standby_replications = 2, 4, 40
    day = centre_day(args.scale)
    model = standby_day(day)
    tools: list[tuple[str, int, Callable[[int], Counted]]] = [
        ("Standby, general engine", args.standby_replications, lambda i: run_standby(day, model, i)),
        ("SimPy 4.1.2", args.replications, lambda i: run_simpy(day, i)),
        ("Ciw 3.2.7", args.replications, lambda i: run_ciw(day, i)),
    ]
    console = Console(stderr=args.json, width=max(Console().width, 160))
    rounds_run = interleaved(tools, args.rounds, lambda text: console.print(text, style="dim"))
    runs = rounds_run.runs
    results = [summarise(name, day, rounds_run.all(t)) for t, (name, _, _) in enumerate(tools)]
    standby = results[0]
    for t, (row, rounds) in enumerate(zip(results, runs, strict=True)):
        row["standby_ratio"] = standby["calls_per_s"] / row["calls_per_s"]
        row["round_ratios"] = [
            calls_per_s(mine) / calls_per_s(theirs) for mine, theirs in zip(runs[0], rounds, strict=True)
        ]
        row["calls_per_cpu_s"] = rounds_run.calls_per_cpu_s(t)
        row["cpu_ratio"] = rounds_run.calls_per_cpu_s(0) / row["calls_per_cpu_s"]
        checks = [
            agree(row[part][key] if part == "all" else row["queues"][part][key], ref)
            for part, ref_shares in [("all", standby["all"]), *standby["queues"].items()]
            for key, ref in ref_shares.items()
        ]
        row["agrees"] = f"{sum(checks)} of {len(checks)}"
    report: dict[str, Any] = {
        "day": {"queues": len(day.queues), "teams": len(day.teams), "hours": len(SHAPE) / 2},
        "rounds": args.rounds,
    }
    report["tools"] = results
    report["ratios"] = [
        speed_ratio(f"general engine vs {peer}, multi-queue day", results[t]["standby_ratio"], target)
        for t, peer, target in ((1, "SimPy", 20.0), (2, "Ciw", 50.0))
    ]
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    agents = sum(t.agents for t in day.teams)
    table = Table(
        title=f"{len(day.queues)} queues, {len(day.teams)} teams ({agents} agents) with skills in priority"
        " order on shifts, 07:00-21:00"
    )
    columns = ["tool", "calls", "seconds", "calls/s", "Standby is", "by round", "on CPU", "service level"]
    columns += ["abandoned"]
    columns += [f"SL {q.id}" for q in day.queues] + ["agrees"]
    for column in columns:
        table.add_column(column, justify="left" if column == "tool" else "right")

    def share(value: tuple[float, float]) -> str:
        return f"{value[0]:.3f} ± {value[1]:.3f}"

    for row in results:
        table.add_row(
            row["tool"],
            f"{row['calls']:,}",
            f"{row['seconds']:.2f}",
            f"{row['calls_per_s']:,.0f}",
            f"{row['standby_ratio']:.1f}x",
            " ".join(f"{r:.1f}" for r in row["round_ratios"]),
            f"{row['cpu_ratio']:.1f}x",
            share(row["all"]["service_level"]),
            share(row["all"]["abandoned"]),
            *[share(row["queues"][q.id]["service_level"]) for q in day.queues],
            row["agrees"],
        )
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
