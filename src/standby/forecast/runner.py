"""The forecaster: a loop, in a process of its own, that keeps every open incident's forecast fresh.

Each pass finds the open incidents whose live state moved (a component, a strategy, the
commander's estimate, the plan: `service.gather`'s mark) or whose forecast is older than
five minutes, and makes their forecasts, one at a time. It polls every `POLL_S`, so a new
incident has its first forecast within seconds. It keeps to its CPU budget (a share of
one core, STANDBY_FORECAST_CPU) by resting between replications, and the process runs at
a lower priority than the web app and the worker: a forecast never delays detection,
paging or a page. It loads the compiled day engines when it starts, before its first pass
(`impact.compiled_load`). Several forecasters on one database are harmless (the last kept wins,
and a recommendation repeated adds no timeline entry), but one is enough.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.errors import ScenarioInvalid
from standby.forecast.outlook import forecast
from standby.forecast.service import gather, is_due, keep, open_incidents
from standby.impact.compiled_load import load_compiled_engines
from standby.plan.topology import Topology
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work

POLL_S = 1.0
log = logging.getLogger(__name__)


class CpuBudget:
    """Rests so that this process's CPU time stays within `share` of the wall time since it began."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.cpu0 = time.process_time()
        self.wall0 = time.monotonic()

    def rest(self) -> None:
        """Sleep as long as the work done so far asks (called between replications)."""
        used = time.process_time() - self.cpu0
        owed = used / self.share - (time.monotonic() - self.wall0)
        if owed > 0:
            time.sleep(owed)
        if time.monotonic() - self.wall0 > 60:  # a fresh window: old idleness earns no burst
            self.cpu0, self.wall0 = time.process_time(), time.monotonic()


def refresh(
    factory: sessionmaker[Session],
    clock: Clock,
    *,
    incident_id: int,
    replications: int = 20,
    seed: int = 1,
    budget: CpuBudget | None = None,
    force: bool = False,
) -> dict[str, Any] | None:
    """Make and keep the incident's forecast if due (or `force`); what was kept, else None."""
    now = clock.now()
    with unit_of_work(factory) as session:
        found = current_plan(session)
        if found is None:
            return None
        info, plan = found
        gathered = gather(session, incident_id=incident_id, plan=plan, plan_sha256=info.sha256, now=now)
        if not force and not is_due(session, gathered, now):
            return None
    made = None
    if gathered.state is not None:
        try:
            made = forecast(
                plan,
                gathered.state,
                replications=replications,
                seed=seed,
                topology=Topology.from_plan(plan),
                between=budget.rest if budget is not None else None,
            )
        except ScenarioInvalid as exc:
            gathered = replace(gathered, state=None, unavailable=str(exc))
    with unit_of_work(factory) as session:
        return keep(session, gathered=gathered, forecast=made, now=now)


def one_pass(
    factory: sessionmaker[Session], clock: Clock, *, budget: CpuBudget | None = None, replications: int = 20
) -> int:
    """Forecast every open incident that is due; how many forecasts were kept."""
    with unit_of_work(factory) as session:
        incidents = open_incidents(session)
    kept = 0
    for incident_id in incidents:
        try:
            if refresh(factory, clock, incident_id=incident_id, budget=budget, replications=replications):
                kept += 1
        except Exception:  # one incident's failure must not starve the others' forecasts
            log.exception("forecast of incident %s failed", incident_id)
    return kept


def run_forecaster(
    factory: sessionmaker[Session], clock: Clock, *, cpu_share: float, stop: threading.Event
) -> None:
    """Keep forecasts fresh until `stop` is set."""
    # Before the first pass and outside the budget: on a fresh install numba compiles the
    # engines here (seconds, once; later starts load them from disk), not in the first
    # forecast of an incident, which must come within seconds of its opening.
    compiled, seconds = load_compiled_engines()
    log.info("simulation engines %s in %.1f s of CPU", "compiled" if compiled else "in Python", seconds)
    budget = CpuBudget(cpu_share)
    while not stop.is_set():
        try:
            one_pass(factory, clock, budget=budget)
        except Exception:  # the database away for a moment: try again on the next pass
            log.exception("forecast pass failed")
        stop.wait(POLL_S)
