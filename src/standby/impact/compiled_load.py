"""Loading the compiled day engines before they are needed: the first forecast must not wait for it.

numba compiles the engines and the count the first time a process uses them (several
seconds of CPU on a fresh install) and keeps the result on disk, which later processes
load in a fraction of a second. `load_compiled_engines` simulates and counts two small days
of the reference plan, one on each compiled engine (a normal day on the free times, the
ACD's lines dropping on the event list), so that a process that will forecast pays for it
at its start, and `scripts/install` fills the disk cache once at installation.
"""

from __future__ import annotations

import time

from standby.impact.day import build_days
from standby.impact.draws import Draws
from standby.impact.engine import compiled_engines, simulate
from standby.impact.results import Scenario
from standby.impact.strategies import resolve
from standby.impact.tally import tally
from standby.plan.loading import load_plan_text
from standby.plan.shipped import reference_plan_text
from standby.plan.topology import Topology


def load_compiled_engines() -> tuple[bool, float]:
    """Compile or load the compiled engines and count: whether they are in use, and the CPU seconds taken."""
    start = time.process_time()
    plan = load_plan_text(reference_plan_text())
    effect = resolve(plan, Topology.from_plan(plan), Scenario(("acd",), 630, 30))
    for model in build_days(plan, effect):
        draws = Draws(model, 0, 0)
        tally(model, simulate(model, draws), draws, ())
    return compiled_engines() is not None, time.process_time() - start


if __name__ == "__main__":  # scripts/install: fill numba's cache on disk once
    compiled, seconds = load_compiled_engines()
    engines = "compiled (numba)" if compiled else "Python (numba not installed)"
    print(f"simulation engines: {engines}, ready in {seconds:.1f} s of CPU")
