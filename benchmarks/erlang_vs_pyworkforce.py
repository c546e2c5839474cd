"""Erlang C and Erlang A: Standby against pyworkforce 0.5.4, from 1 to 20,000 agents.

For each number of agents and each occupancy (offered load over agents), both compute
Erlang C's and Erlang A's service level (answered within T over offered), probability
of waiting and (Erlang A) of abandoning, for the same traffic: calls over a 30-minute
interval, AHT 180 s, T 20 s, patience 180 s. pyworkforce takes minutes (`aht`,
`interval`, `patience`, and `asa`, which is its service-level threshold).

Accuracy is measured against Standby's figures, which tests/unit/test_erlang.py checks
against an exact solution of the birth-death chain to 1e-9. Speed is evaluations per
second of one service level (Standby: one full evaluation, every measure at once).

    benchmarks/install-peers
    .venv/bin/python benchmarks/erlang_vs_pyworkforce.py [--max-agents 20000] [--within 20] [--quick] [--json]

The target (issue 3): one Erlang A evaluation under a millisecond at 20,000 agents. `--quick`:
T 20 s, 200 and 20,000 agents only, occupancies up to 95% (pyworkforce takes two minutes
over 20,000 agents at 98%), a shorter timing budget.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from _ratios import figure, print_json
from standby.impact.erlang import Traffic, erlang_a, erlang_c

try:
    from pyworkforce.queuing import ErlangA, ErlangC
except ImportError as missing:  # pragma: no cover - the peer is installed by benchmarks/install-peers
    raise SystemExit(f"pyworkforce is missing ({missing}): run benchmarks/install-peers first") from None

AGENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
OCCUPANCIES = [0.85, 0.90, 0.95, 0.98]
INTERVAL_MINUTES = 30.0
QUICK_AGENTS = [200, 20000]
ERLANG_A_TARGET_MS = 1.0


@dataclass
class Point:
    """One number of agents at one occupancy: both libraries' figures and times."""

    agents: int
    occupancy: float
    within: float
    c_sl: float
    c_sl_peer: float
    c_wait_peer: float
    c_wait: float
    a_sl: float
    a_sl_peer: float
    a_no_wait: float
    a_abandon: float
    a_abandon_peer: float
    c_rate: float  # Standby Erlang C evaluations per second
    a_rate: float
    c_rate_peer: float
    a_rate_peer: float


def rate(work: Callable[[], object], budget_s: float) -> float:
    """Evaluations per second: repeat `work` for about `budget_s` (at least once)."""
    count = 0
    start = time.perf_counter()
    while True:
        work()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget_s:
            return count / elapsed


def measure(agents: int, occupancy: float, within: float, args: argparse.Namespace) -> Point:
    calls = occupancy * agents * INTERVAL_MINUTES * 60.0 / args.aht
    plain = Traffic.over_interval(
        calls=calls, interval_minutes=INTERVAL_MINUTES, aht_s=args.aht, answer_within_s=within
    )
    patient = Traffic.over_interval(
        calls=calls,
        interval_minutes=INTERVAL_MINUTES,
        aht_s=args.aht,
        answer_within_s=within,
        patience_s=args.patience,
    )
    c, a = erlang_c(plain, agents), erlang_a(patient, agents)
    peer_c = ErlangC(transactions=calls, aht=args.aht / 60, asa=within / 60, interval=INTERVAL_MINUTES)
    peer_a = ErlangA(
        transactions=calls,
        aht=args.aht / 60,
        asa=within / 60,
        interval=INTERVAL_MINUTES,
        patience=args.patience / 60,
    )
    start = time.perf_counter()
    a_sl_peer = peer_a.service_level(agents)  # seconds at thousands of agents: timed once
    a_rate_peer = 1.0 / (time.perf_counter() - start)
    return Point(
        agents=agents,
        occupancy=occupancy,
        within=within,
        c_sl=c.service_level,
        c_sl_peer=peer_c.service_level(agents),
        c_wait=c.p_wait,
        c_wait_peer=peer_c.waiting_probability(agents),
        a_sl=a.service_level,
        a_sl_peer=a_sl_peer,
        a_no_wait=1.0 - a.p_wait,
        a_abandon=a.p_abandon,
        a_abandon_peer=peer_a.abandonment_probability(agents),
        c_rate=rate(lambda: erlang_c(plain, agents), args.budget),
        a_rate=rate(lambda: erlang_a(patient, agents), args.budget),
        c_rate_peer=rate(lambda: peer_c.service_level(agents), args.budget),
        a_rate_peer=a_rate_peer,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-agents", type=int, default=20000, help="the largest number of agents")
    parser.add_argument(
        "--within", type=float, nargs="+", default=[20.0, 60.0], help="service-level thresholds T in seconds"
    )
    parser.add_argument("--aht", type=float, default=180.0, help="mean handling time in seconds")
    parser.add_argument("--patience", type=float, default=180.0, help="Erlang A's mean patience in seconds")
    parser.add_argument("--budget", type=float, default=0.2, help="seconds spent timing each fast evaluation")
    parser.add_argument("--quick", action="store_true", help="T 20 s, 200 and 20,000 agents, up to 95%%")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    agents_measured, occupancies = AGENTS, OCCUPANCIES
    if args.quick:
        args.within, args.budget = [20.0], min(args.budget, 0.05)
        agents_measured, occupancies = QUICK_AGENTS, [rho for rho in OCCUPANCIES if rho <= 0.95]
    # With --json, stdout carries the JSON object alone: the tables go to stderr.
    console = Console(stderr=args.json)
    if not console.is_terminal:
        console = Console(width=140, stderr=args.json)  # a file or a pipe: keep the tables' rows whole
    grid = [
        (t, n, rho)
        for t in args.within for n in agents_measured if n <= args.max_agents for rho in occupancies
    ]
    if not grid:
        parser.error(f"--max-agents {args.max_agents}: no number of agents to measure")
    points: list[Point] = []
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("Erlang C and A, both libraries", total=len(grid))
        for within, agents, occupancy in grid:
            progress.update(task, description=f"T {within:g} s: {agents:,} agents at {occupancy:.0%}")
            points.append(measure(agents, occupancy, within, args))
            progress.advance(task)
    for within in args.within:
        some = [p for p in points if p.within == within]
        console.print(accuracy_table(some, within, args))
        console.print(speed_table(some, within))
        summarise(console, some, within, args)
    if args.json:
        largest = max(p.agents for p in points)
        a_ms = 1000.0 / median(p.a_rate for p in points if p.agents == largest)
        print_json(
            [figure(f"one Erlang A evaluation at {largest:,} agents", a_ms, ERLANG_A_TARGET_MS, "ms",
                    "lower")],
            erlang_a_ratio_at_largest=median(p.a_rate / p.a_rate_peer for p in points if p.agents == largest),
            erlang_c_ratio_at_largest=median(p.c_rate / p.c_rate_peer for p in points if p.agents == largest),
        )


def accuracy_table(points: list[Point], within: float, args: argparse.Namespace) -> Table:
    table = Table(
        title=f"Accuracy: pyworkforce's largest |difference| from the exact figure over the occupancies"
        f" (AHT {args.aht:g} s, T {within:g} s, patience {args.patience:g} s)",
        title_justify="left",
    )
    headers = ("agents", "C SL", "C P(wait)", "A SL", "A P(abandon)", "worst A SL: occ.", "peer", "exact")
    for header in (*headers, "1 - P(wait)"):
        table.add_column(header, justify="right")
    for agents in sorted({p.agents for p in points}):
        row = [p for p in points if p.agents == agents]
        worst = max(row, key=lambda p: abs(p.a_sl_peer - p.a_sl))
        table.add_row(
            f"{agents:,}",
            f"{max(abs(p.c_sl_peer - p.c_sl) for p in row):.0e}",
            f"{max(abs(p.c_wait_peer - p.c_wait) for p in row):.0e}",
            f"{abs(worst.a_sl_peer - worst.a_sl):.0e}",
            f"{max(abs(p.a_abandon_peer - p.a_abandon) for p in row):.0e}",
            f"{worst.occupancy:.0%}",
            f"{worst.a_sl_peer:.6f}",
            f"{worst.a_sl:.6f}",
            f"{worst.a_no_wait:.6f}",
        )
    return table


def speed_table(points: list[Point], within: float) -> Table:
    table = Table(
        title=f"Speed at T {within:g} s: evaluations per second (median over the occupancies)",
        title_justify="left",
    )
    for header in ("agents", "Standby C", "peer C", "C ratio", "Standby A", "peer A", "A ratio"):
        table.add_column(header, justify="right")
    for agents in sorted({p.agents for p in points}):
        row = [p for p in points if p.agents == agents]
        c, c_peer = median(p.c_rate for p in row), median(p.c_rate_peer for p in row)
        a, a_peer = median(p.a_rate for p in row), median(p.a_rate_peer for p in row)
        table.add_row(
            f"{agents:,}", f"{c:,.0f}", f"{c_peer:,.0f}", f"{c / c_peer:,.1f}x",
            f"{a:,.0f}", f"{a_peer:,.2f}", f"{a / a_peer:,.0f}x",
        )
    return table


def summarise(console: Console, points: list[Point], within: float, args: argparse.Namespace) -> None:
    wrong = [p for p in points if abs(p.a_sl_peer - p.a_sl) > 1e-6]
    if not wrong:
        console.print(f"At T {within:g} s pyworkforce's Erlang A service level agrees to 1e-6 everywhere.")
    else:
        first = min(wrong, key=lambda p: (p.agents, p.occupancy))
        collapsed = sum(abs(p.a_sl_peer - p.a_no_wait) < 1e-9 for p in wrong)
        console.print(
            f"At T {within:g} s pyworkforce's Erlang A service level is off by more than 1e-6 from"
            f" {first.agents:,} agents ({len(wrong)} of {len(points)} points; at {first.occupancy:.0%}"
            f" occupancy it gives {first.a_sl_peer:.6f} for {first.a_sl:.6f}). In {collapsed} of them it"
            " equals the share answered without waiting, 1 - P(wait): its uniformisation starts from the"
            " Poisson weight e**(-rate * T), which underflows to 0 once (agents / AHT + queue length /"
            f" patience) * T exceeds about 745, here from at most {745 * args.aht / within:,.0f} agents"
            " (fewer with a long queue), and from then on every caller who waits counts as answered late.",
            soft_wrap=True,
        )
    largest = max(p.agents for p in points)
    top = [p for p in points if p.agents == largest]
    c, c_peer = median(p.c_rate for p in top), median(p.c_rate_peer for p in top)
    a, a_peer = median(p.a_rate for p in top), median(p.a_rate_peer for p in top)
    console.print(
        f"At {largest:,} agents Standby evaluates Erlang C {c / c_peer:,.0f} times and Erlang A"
        f" {a / a_peer:,.0f} times as fast as pyworkforce (medians over the occupancies); one Standby"
        f" Erlang A evaluation takes {1e6 / a:,.0f} µs, one Erlang C {1e6 / c:,.0f} µs.",
        soft_wrap=True,
    )


if __name__ == "__main__":
    main()
