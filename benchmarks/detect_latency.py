"""Detection latency, from a target's death to its outage record, with 5,000 probes at 10 s.

A plan of 5,000 independent TCP components (interval_s 10, timeout_s 2, the default
failures_to_down 3) plus one root component with 30 dependents, each with a probe of its
own, all on loopback targets (benchmarks/_targets.py). One `DetectWorker` (the real
`ProbeChecker`, the system clock, default `WorkerOptions`, the maintenance lookup of
`standby serve`) runs on SQLite, and on PostgreSQL too with --postgres URL (a scratch
database is created there and dropped afterwards).

1. Once every component is up, 200 of the 5,000 targets are killed (their listener closed)
   at random moments over 20 s. For each, the latency is the outage's `detected_at` minus
   the moment of death, both wall clock; "visible" is when this script first read the
   committed row (polled every 0.25 s). The bound is interval + timeout + 1 s = 13 s.
2. Then the root and its 30 dependents are killed at the same moment: the outages opened
   from then on are counted (there must be one, whose cause is the root). Paging is a later
   issue; one outage opened will be one page.

    .venv/bin/python benchmarks/detect_latency.py [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
        [--targets 5000] [--kill 200] [--spread 20] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _detect_worker import plan_text, store_plan  # noqa: E402
from _ratios import figure, print_json  # noqa: E402
from _scratch import unreachable  # noqa: E402
from _targets import HOST, Targets, raise_nofile  # noqa: E402

ROOT = "root-sbc"
DEPENDENTS = 30
POLL_S = 0.25


@dataclass
class Result:
    """What one database's run found."""

    database: str
    targets: int
    killed: int
    interval_s: float
    timeout_s: float
    detected: list[float] = field(default_factory=list)  # detected_at - death, seconds
    visible: list[float] = field(default_factory=list)  # first read of the committed row - death
    undetected: list[str] = field(default_factory=list)
    false_outages: list[list[str]] = field(default_factory=list)
    up_after_s: float = 0.0
    correlations_s: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    cascade: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)  # where each detection's time went

    @property
    def bound_s(self) -> float:
        """interval + timeout + 1 s."""
        return self.interval_s + self.timeout_s + 1


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p99 of 200 values is the second largest)."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


def build_plan(ports: list[int], count: int, interval_s: float, timeout_s: float) -> str:
    """`count` independent TCP components, then the root and its dependents, on the given ports."""

    def probe(port: int) -> dict[str, Any]:
        return {"type": "tcp", "target": f"{HOST}:{port}", "interval_s": interval_s, "timeout_s": timeout_s}

    cascade: list[dict[str, Any]] = [
        {"id": ROOT, "name": "Root SBC", "kind": "sbc", "probe": probe(ports[count])}
    ]
    cascade += [
        {
            "id": f"dependent-{d}",
            "name": f"Dependent {d}",
            "kind": "other",
            "depends_on": [ROOT],
            "probe": probe(ports[count + 1 + d]),
        }
        for d in range(DEPENDENTS)
    ]
    return plan_text(
        [probe(port) for port in ports[:count]],
        cascade,
        organisation="Detection latency benchmark",
        queue_depends_on=[ROOT],
        shift=("00:00", "24:00"),
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def read_outages(factory: Any, after_id: int = 0) -> list[dict[str, Any]]:
    """Outages with an id above `after_id`: id, causes, detected_at, ended_at, merged_into."""
    from sqlalchemy import select

    from standby.store.engine import unit_of_work
    from standby.store.tables import OutageRow

    with unit_of_work(factory) as session:
        rows = session.execute(
            select(
                OutageRow.id,
                OutageRow.causes,
                OutageRow.components,
                OutageRow.detected_at,
                OutageRow.started_at,
                OutageRow.ended_at,
                OutageRow.merged_into,
                OutageRow.classification,
            )
            .where(OutageRow.id > after_id)
            .order_by(OutageRow.id)
        ).all()
    return [
        {
            "id": r.id,
            "causes": list(r.causes),
            "components": len(r.components),
            "detected_at": _utc(r.detected_at).timestamp(),
            "started_at": _utc(r.started_at).timestamp(),
            "ended_at": _utc(r.ended_at).timestamp() if r.ended_at is not None else None,
            "merged_into": r.merged_into,
            "classification": r.classification,
        }
        for r in rows
    ]


def failure_times(factory: Any, components: list[str]) -> dict[str, tuple[float | None, float | None]]:
    """Per component: its first failed check on record, and the check that confirmed it down
    (the third failure: the probe's `health_since` is the first one)."""
    from sqlalchemy import select

    from standby.store.engine import unit_of_work
    from standby.store.tables import CheckResultRow

    failed: dict[str, list[datetime]] = {}
    with unit_of_work(factory) as session:
        for component_id, at in session.execute(
            select(CheckResultRow.component_id, CheckResultRow.checked_at)
            .where(CheckResultRow.component_id.in_(components), ~CheckResultRow.ok)
            .order_by(CheckResultRow.component_id, CheckResultRow.checked_at)
        ):
            failed.setdefault(component_id, []).append(at)
    return {
        c: (
            _utc(failed[c][0]).timestamp() if failed.get(c) else None,
            _utc(failed[c][2]).timestamp() if len(failed.get(c, [])) >= 3 else None,
        )
        for c in components
    }


def count_up(factory: Any) -> int:
    """Components whose state on record is up."""
    from sqlalchemy import func, select

    from standby.store.engine import unit_of_work
    from standby.store.tables import ComponentStateRow

    with unit_of_work(factory) as session:
        return int(
            session.scalar(select(func.count()).where(ComponentStateRow.state == "up")) or 0  # type: ignore[arg-type]
        )


async def measure(database: str, url: str, args: argparse.Namespace) -> Result:
    """One database: build, store, run the worker, kill targets, time the outages."""
    from standby.clock import SystemClock
    from standby.detect.probes.checker import ProbeChecker
    from standby.detect.runner import maintenance_now
    from standby.detect.worker import DetectWorker
    from standby.store.engine import make_engine, make_session_factory
    from standby.store.migrations import upgrade

    rng = random.Random(args.seed)
    result = Result(database, args.targets, args.kill, args.interval, args.timeout)
    total = args.targets + 1 + DEPENDENTS
    with Targets(total) as targets:
        ports = targets.ports
        engine = make_engine(url)
        try:
            upgrade(engine)
            factory = make_session_factory(engine)
            store_plan(factory, build_plan(ports, args.targets, args.interval, args.timeout))
            checker = ProbeChecker()
            worker = DetectWorker(
                session_factory=factory, clock=SystemClock(), checker=checker, maintenance=maintenance_now
            )
            correlate = worker._correlate

            async def timed_correlate(**how: Any) -> None:  # to show what correlation costs at this size
                began = time.perf_counter()
                await correlate(**how)
                result.correlations_s.append(time.perf_counter() - began)

            worker._correlate = timed_correlate  # type: ignore[method-assign]
            stop = asyncio.Event()
            started, cpu0 = time.perf_counter(), time.process_time()
            task = asyncio.create_task(worker.run(stop))
            try:
                await _scenarios(result, factory, targets, ports, rng, args, task, started)
            finally:
                stop.set()
                await asyncio.wait_for(task, 60)
                await checker.aclose()
                result.cpu_s, result.wall_s = time.process_time() - cpu0, time.perf_counter() - started
        finally:
            engine.dispose()
    return result


async def _scenarios(
    result: Result,
    factory: Any,
    targets: Targets,
    ports: list[int],
    rng: random.Random,
    args: argparse.Namespace,
    task: asyncio.Task[None],
    started: float,
) -> None:
    total = args.targets + 1 + DEPENDENTS
    deadline = time.monotonic() + 180
    while await asyncio.to_thread(count_up, factory) < total:
        if time.monotonic() > deadline or task.done():
            raise RuntimeError(f"not every component was up within 180 s on {result.database}")
        await asyncio.sleep(0.5)
    result.up_after_s = time.perf_counter() - started
    print(f"  {result.database}: all {total:,} up after {result.up_after_s:.1f} s", file=sys.stderr)

    # 1. Independent deaths, spread over `spread` seconds.
    victims = rng.sample(range(args.targets), args.kill)
    offsets = sorted(rng.uniform(0, args.spread) for _ in victims)
    deaths: dict[str, float] = {}
    seen: dict[str, tuple[float, float]] = {}  # component -> (detected_at, first read)
    last_id = 0
    begin = time.monotonic()

    async def poll() -> None:
        nonlocal last_id
        now = time.time()
        for outage in await asyncio.to_thread(read_outages, factory, last_id):
            last_id = max(last_id, outage["id"])
            causes = outage["causes"]
            if not any(c in deaths for c in causes):
                result.false_outages.append(causes)
            for cause in causes:
                seen.setdefault(cause, (outage["detected_at"], now))

    async def killer() -> None:
        for index, offset in zip(victims, offsets, strict=True):
            await asyncio.sleep(max(0.0, begin + offset - time.monotonic()))
            died = await asyncio.to_thread(targets.close, [ports[index]])
            deaths[f"target-{index}"] = died

    killing = asyncio.create_task(killer())
    end_by = begin + args.spread + result.bound_s + 20
    while time.monotonic() < end_by and not (killing.done() and all(c in seen for c in deaths)):
        await asyncio.sleep(POLL_S)
        await poll()
    await killing
    times = await asyncio.to_thread(failure_times, factory, sorted(deaths))
    stages: dict[str, list[float]] = {
        "death to the first failed check": [],
        "first failure to down (confirming)": [],
        "down to detected_at (write, correlate)": [],
        "detected_at to readable (commit)": [],
    }
    for component, died in sorted(deaths.items()):
        if component in seen:
            detected_at, read_at = seen[component]
            result.detected.append(detected_at - died)
            result.visible.append(read_at - died)
            first_failure, down_at = times[component]
            if first_failure is not None and down_at is not None:
                for stage, value in zip(
                    stages,
                    (
                        first_failure - died,
                        down_at - first_failure,
                        detected_at - down_at,
                        read_at - detected_at,
                    ),
                    strict=True,
                ):
                    stages[stage].append(value)
        else:
            result.undetected.append(component)
    result.stages = stages

    # 2. The root and its 30 dependents die at the same moment.
    await poll()
    before = last_id
    cascade_ports = ports[args.targets : args.targets + 1 + DEPENDENTS]
    died = await asyncio.to_thread(targets.close, cascade_ports)
    wait_until = time.monotonic() + 2 * result.bound_s + 5  # every probe down, then correlated again
    while time.monotonic() < wait_until:
        await asyncio.sleep(POLL_S)
    for outage in await asyncio.to_thread(read_outages, factory, before):
        outage["detected_after_s"] = outage["detected_at"] - died
        result.cascade.append(outage)


def scratch_postgres(url: str) -> tuple[str, str, str]:
    """(admin libpq URL, scratch database name, SQLAlchemy URL of the scratch database)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.host or "127.0.0.1"
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"--postgres must be on this machine (127.0.0.0/8 or localhost), not {host}")
    name = f"standby_bench_{int(time.time())}"
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    scratch = parsed.set(database=name).render_as_string(hide_password=False)
    return admin, name, scratch


def report(results: list[Result], to_stderr: bool = False) -> dict[str, Any]:
    """Print the latency table and the cascade's outages; the figures as a dict for --json."""
    from rich.console import Console
    from rich.table import Table

    # With --json, stdout carries the JSON object alone: the tables go to stderr.
    console = Console(width=150, stderr=to_stderr)
    table = Table(title="Detection latency: death of a target to its outage record (seconds)")
    for column in ("database", "killed", "detected", "p50", "p99", "max", "bound", "p99 within"):
        table.add_column(column, justify="left" if column == "database" else "right")
    table.add_column("visible p50 / p99 / max", justify="right")
    out: dict[str, Any] = {}
    for r in results:
        row: dict[str, Any] = {"killed": r.killed, "detected": len(r.detected), "bound_s": r.bound_s}
        if r.detected:
            row |= {
                "p50": percentile(r.detected, 0.50),
                "p99": percentile(r.detected, 0.99),
                "max": max(r.detected),
                "visible_p50": percentile(r.visible, 0.50),
                "visible_p99": percentile(r.visible, 0.99),
                "visible_max": max(r.visible),
            }
            row["p99_within_bound"] = row["p99"] <= r.bound_s and not r.undetected
            table.add_row(
                r.database,
                f"{r.killed}",
                f"{len(r.detected)}",
                f"{row['p50']:.2f}",
                f"{row['p99']:.2f}",
                f"{row['max']:.2f}",
                f"{r.bound_s:g}",
                "yes" if row["p99_within_bound"] else "NO",
                f"{row['visible_p50']:.2f} / {row['visible_p99']:.2f} / {row['visible_max']:.2f}",
            )
        corr = sorted(r.correlations_s)
        row |= {
            "undetected": r.undetected,
            "false_outages": r.false_outages,
            "all_up_after_s": r.up_after_s,
            "correlations": len(corr),
            "correlation_p50_s": statistics.median(corr) if corr else None,
            "correlation_max_s": corr[-1] if corr else None,
            "worker_cpu_share": r.cpu_s / r.wall_s if r.wall_s else None,
            "cascade": r.cascade,
        }
        out[r.database] = row
    console.print(table)
    stages = Table(title="Where the time goes (seconds; readable = first read by this script, every 0.25 s)")
    stages.add_column("stage")
    for r in results:
        stages.add_column(f"{r.database} p50", justify="right")
        stages.add_column(f"{r.database} p99", justify="right")
    for stage in results[0].stages if results else ():
        cells = []
        for r in results:
            values = r.stages.get(stage) or [float("nan")]
            cells += [f"{percentile(values, 0.5):.2f}", f"{percentile(values, 0.99):.2f}"]
            out[r.database].setdefault("stages", {})[stage] = {
                "p50": percentile(values, 0.5),
                "p99": percentile(values, 0.99),
            }
        stages.add_row(stage, *cells)
    console.print(stages)
    for r in results:
        row = out[r.database]
        console.print(
            f"{r.database}: {r.targets:,} + {1 + DEPENDENTS} TCP probes every {r.interval_s:g} s"
            f" (timeout {r.timeout_s:g} s, 3 failures to down, retries every 0.5 s);"
            f" all up {r.up_after_s:.1f} s after start; {len(r.undetected)} deaths never detected;"
            f" {len(r.false_outages)} outages without a killed cause"
        )
        if row["correlations"]:
            console.print(
                f"  {row['correlations']} correlations, median {row['correlation_p50_s']:.2f} s,"
                f" longest {row['correlation_max_s']:.2f} s; the process used"
                f" {100 * row['worker_cpu_share']:.0f}% of a core"
            )
        opened = r.cascade
        causes_ok = len(opened) == 1 and opened[0]["causes"] == [ROOT]
        row["cascade_one_outage_rooted"] = causes_ok
        verdict = "as required: one, caused by the root" if causes_ok else "NOT one outage caused by the root"
        console.print(
            f"  root with {DEPENDENTS} dependents killed at once: {len(opened)} outage(s) opened"
            f" ({verdict}); one outage opened = one page once paging exists"
        )
        for outage in opened:
            fate = (
                f"merged into {outage['merged_into']}"
                if outage["merged_into"]
                else ("ended" if outage["ended_at"] else "open")
            )
            console.print(
                f"    outage {outage['id']}: causes {outage['causes']}, {outage['components']} components,"
                f" {outage['classification']}, opened {outage['detected_after_s']:.1f} s after the deaths,"
                f" {fate}"
            )
    return out


async def run_all(args: argparse.Namespace) -> None:
    raise_nofile(2 * (args.targets + 1 + DEPENDENTS) + 4096)
    results = []
    with tempfile.TemporaryDirectory(prefix="standby-latency-") as tmp:
        print("… SQLite", file=sys.stderr)
        results.append(await measure("SQLite", f"sqlite+pysqlite:///{Path(tmp) / 'standby.db'}", args))
    problem = unreachable(args.postgres) if args.postgres else "not asked (give --postgres URL)"
    skipped = [f"PostgreSQL: {problem}"] if problem else []
    if not problem:
        import psycopg

        admin, name, scratch = scratch_postgres(args.postgres)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            print(f"… PostgreSQL (scratch database {name})", file=sys.stderr)
            results.append(await measure("PostgreSQL", scratch, args))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    figures = report(results, to_stderr=args.json)
    if args.json:
        print_json(ratios(results, figures), skipped, **figures)


def ratios(results: list[Result], figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Per database: p99 against the bound, the deaths detected, and the cascade's one outage."""
    found = []
    for r in results:
        row = figures[r.database]
        if r.detected:
            found.append(figure(f"{r.database}: detection p99", row["p99"], r.bound_s, "s", "lower"))
        found += [
            figure(f"{r.database}: deaths detected", 100.0 * len(r.detected) / max(r.killed, 1), 100.0, "%",
                   "higher"),
            figure(f"{r.database}: root and {DEPENDENTS} dependents, one outage caused by the root (1: yes)",
                   1.0 if row["cascade_one_outage_rooted"] else 0.0, 1.0, "", "higher"),
        ]
    return found


def main() -> None:
    """Parse the options and measure on each database."""
    # 200 outages are opened on purpose: keep the worker's other warnings, not those.
    logging.getLogger("standby.worker").addFilter(lambda record: record.msg != "outage %s opened")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=5000, help="independent TCP components")
    parser.add_argument("--kill", type=int, default=200, help="targets killed in scenario 1")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which they die")
    parser.add_argument("--interval", type=float, default=10.0, help="probe interval_s")
    parser.add_argument("--timeout", type=float, default=2.0, help="probe timeout_s")
    parser.add_argument("--seed", type=int, default=7, help="random seed (victims and moments)")
    parser.add_argument("--postgres", metavar="URL", help="also run on a scratch database of this server")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 targets, 20 killed")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if args.quick:
        args.targets, args.kill, args.spread = min(args.targets, 300), min(args.kill, 20), 5.0
    if args.kill > args.targets:
        parser.error("--kill cannot exceed --targets")
    asyncio.run(run_all(args))


if __name__ == "__main__":
    main()
