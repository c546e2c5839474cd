"""Standby's worker run of the detection benchmark: `DetectWorker` end to end over every target.

The targets in a plan, on SQLite or a scratch PostgreSQL database, for a fixed time after
every probe was checked once; counted by a checker that also sees how late each check
came. Part of benchmarks/detect_checks.py; not a benchmark of its own. Its plan and
`store_plan` also serve benchmarks/detect_latency.py.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from typing import Any

from _detect_shared import KEPT_UP, Run, median_run, standby_probe
from _scratch import scratch_url
from _targets import Targets


def plan_text(
    probes: list[dict[str, Any]],
    extra_components: list[dict[str, Any]] | None = None,
    *,
    organisation: str = "Detection benchmark",
    queue_depends_on: list[str] | None = None,
    shift: tuple[str, str] = ("08:00", "20:00"),
) -> str:
    """A valid plan: a component per probe (no dependencies), `extra_components`, a site, a queue, a team."""
    import yaml

    components = [
        {"id": f"target-{i}", "name": f"Target {i}", "kind": "other", "probe": probe}
        for i, probe in enumerate(probes)
    ]
    components += extra_components or []
    queue: dict[str, Any] = {"id": "general", "name": "General"}
    if queue_depends_on:
        queue["depends_on"] = queue_depends_on
    queue |= {"service_level": {"answer_within_s": 20, "target": 0.8}, "aht_s": 300}
    plan = {
        "organisation": {"name": organisation, "timezone": "Europe/London"},
        "components": components,
        "sites": [{"id": "office", "name": "Office", "seats": 10}],
        "queues": [queue],
        "teams": [
            {
                "id": "team",
                "site": "office",
                "queues": ["general"],
                "agents": 10,
                "shift": {"start": shift[0], "end": shift[1]},
            }
        ],
    }
    return yaml.safe_dump(plan, sort_keys=False)


def migrated_factory(url: str) -> Any:
    """A session factory on the (new, empty) database at `url`, migrated."""
    from standby.store.engine import make_engine, make_session_factory
    from standby.store.migrations import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return make_session_factory(engine)


def store_plan(factory: Any, text: str) -> None:
    """Record `text` as the plan in force."""
    from standby.clock import SystemClock
    from standby.plan.loading import load_plan_text
    from standby.plan.versions import record_plan
    from standby.store.engine import unit_of_work

    plan = load_plan_text(text)
    with unit_of_work(factory) as session:
        record_plan(session, plan=plan, source=text, now=SystemClock().now(), loaded_by="benchmark")


class CountingChecker:
    """A ProbeChecker that counts the failed checks and why (the targets never fail: any is false),
    and the time between two checks of each target, from which `due_done` says how many of the
    checks that fell due were made on time."""

    def __init__(self) -> None:
        from standby.detect.probes.checker import ProbeChecker

        self.inner = ProbeChecker()
        self.failures: collections.Counter[str] = collections.Counter()
        self.last: dict[str, float] = {}
        self.gaps: list[float] = []

    async def check(self, probe: Any, *, now: Any) -> Any:
        started = time.monotonic()  # when its turn came: a check waiting for a slot is late
        previous = self.last.get(probe.target)
        self.last[probe.target] = started
        if previous is not None:
            self.gaps.append(started - previous)
        result = await self.inner.check(probe, now=now)
        if not result.ok:
            self.failures[result.detail] += 1
        return result

    def start_counting(self) -> None:
        """Forget what was counted so far (the warm-up), keeping when each target was last checked."""
        self.failures.clear()
        self.gaps.clear()

    def due_done(self, interval_s: float) -> tuple[float, float]:
        """(share of the due checks made on time, longest gap in s) since `start_counting`.

        Between two checks of a target `gap / interval` checks fell due and one was made; a
        check starting up to 5% late counts as on time (the scheduler's own slack). So 1.0
        means every target was checked every interval, and 0.8 that a fifth of the due
        checks were not made when due.
        """
        if not self.gaps:
            return 0.0, 0.0
        allowed = interval_s * 1.05
        due = sum(max(1.0, gap / allowed) for gap in self.gaps)
        return len(self.gaps) / due, max(self.gaps)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def standby_worker(
    protocol: str, targets: Targets, interval_s: float, seconds: float, postgres: str | None = None
) -> Run:
    """DetectWorker over every target for `seconds` after each was checked about once, on a new
    SQLite database, or on a scratch database of the PostgreSQL server at `postgres`."""
    from sqlalchemy import func, select

    from standby.clock import SystemClock
    from standby.detect.worker import DetectWorker
    from standby.store.engine import unit_of_work
    from standby.store.tables import CheckResultRow

    kind = {"tcp": "tcp", "http": "http", "sip": "sip_options"}[protocol]
    probes = [
        standby_probe(protocol, port, interval_s=interval_s, timeout_s=2).model_dump(mode="json")
        for port in targets.ports
    ]
    for probe in probes:  # only what an author writes: the type and target, the timing
        for key in list(probe):
            if key not in ("type", "target", "interval_s", "timeout_s"):
                del probe[key]
    with scratch_url(postgres) as url:
        factory = migrated_factory(url)
        store_plan(factory, plan_text(probes))
        checker = CountingChecker()
        worker = DetectWorker(session_factory=factory, clock=SystemClock(), checker=checker)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            deadline = time.monotonic() + 120
            while worker.stats.checks < len(probes):  # warm-up: claimed, checked once, all up
                if time.monotonic() > deadline or task.done():
                    raise RuntimeError(f"the worker checked only {worker.stats.checks} probes in 120 s")
                await asyncio.sleep(0.1)
            checks0, flushes0 = worker.stats.checks, worker.stats.flushes
            checker.start_counting()
            cpu0, wall0, targets0 = time.process_time(), time.perf_counter(), targets.cpu_seconds()
            await asyncio.sleep(seconds)
            checks = worker.stats.checks - checks0
            failures = dict(checker.failures)
            due_done, max_gap = checker.due_done(interval_s)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            targets_cpu = targets.cpu_seconds() - targets0
            flushes = worker.stats.flushes - flushes0
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
            await checker.aclose()
        with unit_of_work(factory) as session:
            written = session.scalar(select(func.count()).select_from(CheckResultRow)) or 0
    due = len(probes) / interval_s
    note = (
        f"{due:,.0f} checks/s due, {checks / wall:,.0f} done, {due_done:.0%} of the due checks on time"
        f" (longest gap {max_gap:.1f} s); {flushes} batches written in {wall:.0f} s;"
        f" {written:,} results stored over the whole run, of {worker.stats.checks:,} checks"
    )
    failed = sum(failures.values())
    return Run(
        f"Standby worker {interval_s:g} s",
        kind,
        checks,
        checks - failed,
        wall,
        cpu,
        targets_cpu,
        note=note,
        failures=failures,
        due_done=due_done,
        max_gap_s=max_gap,
    )


async def run_workers(
    args: argparse.Namespace,
    protocols: list[str],
    targets: Targets,
    worker_sip_tcp: list[float],
    worker_due: dict[str, list[float]],
    worker_sip_tcp_behind: list[int],
) -> list[Run]:
    """The worker over every protocol at the interval, in interleaved turns, then saturated on TCP.

    Each turn's SIP/TCP ratio goes to `worker_sip_tcp` (the worker's CPU is mostly its
    database work, which moves with the machine's load: a ratio within a turn is fairer
    than a ratio of medians), each run's share of due checks done to `worker_due`.
    """
    interval = args.worker_interval
    # Whole intervals, so that every probe is checked as often in each window.
    seconds = max(args.worker_seconds, 2 * interval)
    seconds = interval * round(seconds / interval)
    measured: dict[str, list[Run]] = collections.defaultdict(list)
    for turn in range(args.worker_repeat):
        for protocol in protocols:
            print(
                f"… {turn + 1}/{args.worker_repeat} Standby worker, {protocol} every {interval:g} s",
                file=sys.stderr,
            )
            run = await standby_worker(protocol, targets, interval, seconds, args.postgres)
            measured[protocol].append(run)
            worker_due[protocol].append(run.due_done or 0.0)
        if "sip" in measured and "tcp" in measured:
            sip, tcp = measured["sip"][-1], measured["tcp"][-1]
            worker_sip_tcp.append(sip.per_cpu_s / tcp.per_cpu_s)
            # A worker that falls behind spends its fixed costs (claims, correlations) on
            # fewer checks: its CPU per check then says more about the machine than the probe.
            both_kept_up = min(sip.due_done or 0.0, tcp.due_done or 0.0) >= KEPT_UP
            if not both_kept_up:
                worker_sip_tcp_behind.append(len(worker_sip_tcp) - 1)
            late = "" if both_kept_up else " (a worker fell behind: not comparable)"
            print(f"… turn {turn + 1}: worker SIP/TCP {worker_sip_tcp[-1]:.2f}x{late}", file=sys.stderr)
    runs = [median_run(measured[p]) for p in protocols if p in measured]
    if "tcp" in protocols and not args.quick:
        print("… Standby worker, tcp every 0.5 s (saturated)", file=sys.stderr)
        runs.append(await standby_worker("tcp", targets, 0.5, max(args.worker_seconds, 1.0), args.postgres))
    return runs
