"""How much CPU a live forecast takes: every option of an outage, for each length, 20 replications.

Two cases:

- the reference plan, Leeds without power since 10:30, forecast at 10:40: every option
  (none, each strategy that applies, all of them, the pairs) for 30, 60 and 120 more
  minutes, 20 replications each;
- a generated plan of 500 queues (plan_scale.py's generator, 5,000 components, seed 7),
  one site's power down for ten minutes at the forecast day's second hour: the same.

CPU seconds of this process (`time.process_time`), the plan loaded beforehand and not
counted. The compiled day engines (numba) are loaded first, by two days simulated before any
timing, as the long-running forecaster process loads it once; that one-off load (from
numba's cache on disk, or compiled when there is none) is reported on its own. Beside
it, one `run_impact` of the same outage for 60 minutes, to show what one simulated option
and length costs on its own.

The large plan's day is expensive to simulate (14,426 agents, 1.27 M calls: about 0.15 s
of CPU per simulated day here, seven days a replication), so the forecast is timed with 1
and with 2 replications, and the figure for 20 is what they say: the work done once
(resolving every option and length, building the days) plus 20 times the work of one
replication. `--quick` does the same but leaves out the `run_impact` comparisons; it runs
in under a minute. (It used to time one replication and take 20 times it: an upper bound
that counted the work done once 20 times, 61.6 s where the estimate from one and two gave
29 to 33 s on the same machine.)

    .venv/bin/python benchmarks/forecast.py [--replications 20] [--skip-large] [--quick] [--json]

With `--json`, stdout is one JSON object whose "ratios" are both forecasts' CPU seconds
against their targets (2 s and 30 s); the report goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

from standby.forecast.live import LiveState
from standby.forecast.outlook import forecast
from standby.forecast.records import Forecast
from standby.impact.compiled_load import load_compiled_engines
from standby.impact.results import Scenario
from standby.impact.scenario import forecast_day
from standby.impact.simulation import run_impact
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.plan.topology import Topology


def _timed(plan: Plan, state: LiveState, replications: int) -> tuple[float, Forecast]:
    topology = Topology.from_plan(plan)
    start = time.process_time()
    made = forecast(plan, state, replications=replications, topology=topology)
    return time.process_time() - start, made


def _impact(plan: Plan, down: tuple[str, ...], at: int, replications: int) -> float:
    start = time.process_time()
    run_impact(plan, Scenario(down, at, 60), replications=replications, workers=1)
    return time.process_time() - start


def large_plan() -> tuple[Plan, LiveState]:
    """The generated 500-queue plan and an outage of one site's power."""
    sys.path.insert(0, str(Path(__file__).parent))
    from plan_scale import generate_plan

    plan = load_plan_text(yaml.safe_dump(generate_plan(5000, 7), sort_keys=False))
    day = forecast_day(plan)
    assert day is not None
    staffed = {t.site for t in plan.teams if t.agents > 0}
    site = next(s for s in plan.sites if s.id in staffed and s.kind == "office")
    power = next(
        d for d in site.depends_on if isinstance(d, str) and plan.components_by_id[d].kind == "power"
    )
    since = day[0] + 60
    return plan, LiveState((power,), since, since + 10)


def say(text: str) -> None:
    """A line of the report (on stderr with --json, so that stdout is the JSON alone)."""
    print(text, file=OUT[0], flush=True)


OUT = [sys.stdout]


def warm_up() -> float:
    """Load the compiled engines and count as the forecaster does at its start; their CPU seconds."""
    compiled, seconds = load_compiled_engines()
    engine = "compiled (numba)" if compiled else "Python (numba not installed)"
    say(f"day engines: {engine}; loaded as the forecaster does at its start: {seconds:.2f} s CPU")
    return seconds


def reference_case(replications: int, impact: bool) -> float:
    """The reference plan's forecast, every option; its CPU seconds."""
    plan = load_plan_text(reference_plan_text())
    state = LiveState(("leeds-power",), 630, 640)
    seconds, made = _timed(plan, state, replications)
    simulated = len(made.options) * len(state.lengths)
    shape = f"{len(made.options)} options x {len(state.lengths)} lengths"
    say(f"reference plan: {len(plan.queues)} queues, {shape}")
    say(f"  forecast, every option, {replications} replications: {seconds:.2f} s CPU")
    if impact:
        one = _impact(plan, state.down, state.since, replications)
        say(f"  one standby impact run of the same outage ({replications} replications): {one:.2f} s CPU")
    say(f"  per option and length {seconds / simulated:.3f} s; recommended: {made.recommended}")
    return seconds


def large_case(impact: bool) -> float:
    """The 500-queue plan's forecast; its CPU seconds for 20 replications (see the docstring)."""
    plan, state = large_plan()
    one, made = _timed(plan, state, 1)
    shape = f"{len(made.options)} options x {len(state.lengths)} lengths"
    say(f"500-queue plan: {len(plan.queues)} queues, {shape}")
    say(f"  forecast, 1 replication: {one:.2f} s CPU")
    two, _ = _timed(plan, state, 2)
    each = two - one
    estimate = (one - each) + 20 * each
    say(f"  forecast, 2 replications: {two:.2f} s CPU")
    say(f"  so {each:.2f} s a replication and {one - each:.2f} s done once")
    say(f"  for 20 replications: {estimate:.1f} s CPU")
    if impact:
        seconds = _impact(plan, state.down, state.since, 1)
        say(f"  one standby impact run of the same outage (1 replication): {seconds:.2f} s CPU")
    say(f"  recommended: {made.recommended}: {made.reason}")
    return estimate


def main() -> None:
    """Run both cases and print the CPU seconds (and, with --json, the ratios)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--skip-large", action="store_true", help="only the reference plan")
    parser.add_argument("--quick", action="store_true", help="a short run: no standby impact beside it")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the ratios on stdout")
    args = parser.parse_args()
    if args.json:
        OUT[0] = sys.stderr
    warm_up()
    ratios = [
        {
            "name": "live forecast, reference plan, every option, 20 replications (CPU s)",
            "value": round(reference_case(args.replications, not args.quick), 3),
            "target": 2.0,
            "unit": "s",
            "better": "lower",
        }
    ]
    if not args.skip_large:
        ratios.append(
            {
                "name": "live forecast, 500-queue plan, every option, 20 replications (CPU s)",
                "value": round(large_case(not args.quick), 2),
                "target": 30.0,
                "unit": "s",
                "better": "lower",
            }
        )
    if args.json:
        print(json.dumps({"benchmark": "forecast", "quick": args.quick, "ratios": ratios}))


if __name__ == "__main__":
    main()
