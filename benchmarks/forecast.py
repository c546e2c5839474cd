"""How much CPU a live forecast takes: every option of an outage, for each length, 20 replications.

Two cases:

- the reference plan, Leeds without power since 10:30, forecast at 10:40: every option
  (none, each strategy that applies, all of them, the pairs) for 30, 60 and 120 more
  minutes, 20 replications each;
- a generated plan of 500 queues (plan_scale.py's generator, 5,000 components, seed 7),
  one site's power down for ten minutes at the forecast day's second hour: the same.

CPU seconds of this process (`time.process_time`), the plan loaded beforehand and not
counted. Beside it, one `run_impact` of the same outage for 60 minutes, to show what one
simulated option and length costs on its own.

The large plan's day is expensive to simulate (14,426 agents, about 3 s of CPU per
simulated day here), so it runs `--large-replications` (2 by default) and prints the
figure for 20 by proportion: each replication simulates the same days.

    .venv/bin/python benchmarks/forecast.py [--replications 20] [--large-replications 2] [--skip-large]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from standby.forecast.live import LiveState
from standby.forecast.outlook import forecast
from standby.forecast.records import Forecast
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


def report(name: str, plan: Plan, state: LiveState, replications: int) -> None:
    """Time one forecast and one impact run; print them."""
    seconds, made = _timed(plan, state, replications)
    simulated = len(made.options) * len(state.lengths)
    one = _impact(plan, state.down, state.since, replications)
    print(f"{name}: {len(plan.queues)} queues, {len(made.options)} options x {len(state.lengths)} lengths")
    print(f"  forecast, every option, {replications} replications: {seconds:.2f} s CPU")
    print(f"  one standby impact run of the same outage ({replications} replications): {one:.2f} s CPU")
    print(f"  {simulated} options x lengths; per option and length {seconds / simulated:.3f} s")
    if replications != 20:
        print(f"  for 20 replications, by proportion: {seconds * 20 / replications:.1f} s CPU")
    print(f"  recommended: {made.recommended}: {made.reason}")


def main() -> None:
    """Run both cases and print the CPU seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--large-replications", type=int, default=2)
    parser.add_argument("--skip-large", action="store_true", help="only the reference plan")
    args = parser.parse_args()
    reference = load_plan_text(reference_plan_text())
    report("reference plan", reference, LiveState(("leeds-power",), 630, 640), args.replications)
    sys.stdout.flush()
    if not args.skip_large:
        plan, state = large_plan()
        report("500-queue plan", plan, state, args.large_replications)


if __name__ == "__main__":
    main()
