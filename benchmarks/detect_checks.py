"""Checks per second and CPU seconds per 1,000 checks: Standby against blackbox_exporter.

5,000 targets on 127.0.0.1 (benchmarks/_targets.py: a process of their own, whose CPU is
counted for neither side) are checked over TCP, HTTP and, for Standby, SIP OPTIONS over UDP:

- Standby's checker: `ProbeChecker.check` driven as the worker drives it (a task per
  check, at most 256 at once), every target once per round; wall time and this process's
  CPU time (all threads) around the checking alone.
- Standby's worker, end to end: `DetectWorker` with the default options on SQLite (or a
  scratch PostgreSQL database with --postgres, whose server's CPU is not counted), the
  targets in a plan, for a fixed time after every probe was checked once; checks counted by
  `worker.stats.checks`, CPU including the batched writes and correlation. At a 10 s
  interval for each protocol (5,000 probes at 10 s: the load the issue names), and with
  every TCP probe due every 0.5 s (saturated: what one worker can do).
- blackbox_exporter: the same targets through its /probe endpoint (modules tcp_connect and
  http_2xx), sent by a load driver in a process of its own, 256 keep-alive connections to
  the exporter; the exporter's CPU from /proc/PID/stat, the driver's shown beside it.
- A cross-check of the SIP figure against one SIPp UAS (when sipp is installed).

    benchmarks/install-peers      # prometheus-blackbox-exporter and sip-tester (Debian)
    .venv/bin/python benchmarks/detect_checks.py [--targets 5000] [--rounds 2] [--repeat 3] [--quick] [--json]
        [--protocols tcp,sip] [--no-exporter] [--worker-seconds 0]   # e.g. SIP against TCP alone
        [--worker-interval 10] [--worker-repeat 2] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

With --json, stdout is one JSON object whose "ratios" list each figure against its target:
HTTP and TCP checks per CPU second against blackbox_exporter's, the share of due checks the
worker made on time (5,000 probes every 10 s; 1,000 every 2 s with --quick: 500 a second
either way), and SIP OPTIONS against TCP per CPU second, for the checker and the worker.
The runs are in _detect_checker.py, _detect_exporter.py (with its load driver) and
_detect_worker.py, what they share in _detect_shared.py.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _detect_checker import standby_against_sipp, standby_checker  # noqa: E402
from _detect_exporter import MODULES, Exporter, blackbox  # noqa: E402
from _detect_shared import CONCURRENCY, Run, median_run  # noqa: E402
from _detect_worker import run_workers  # noqa: E402
from _targets import Targets, raise_nofile  # noqa: E402

# ---- report ---------------------------------------------------------------------------------


def print_report(
    runs: list[Run],
    *,
    targets: int,
    exporter_version: str,
    interval_s: float,
    worker_sip_tcp: list[float],
    worker_due: dict[str, list[float]],
    behind: list[int] | None = None,
    to_stderr: bool = False,
) -> dict[str, Any]:
    """The table and the ratios against the issue's targets; returns them for --json.

    `worker_sip_tcp` is the worker's SIP/TCP ratio in each interleaved turn (the median is
    the figure), `worker_due` each turn's share of due checks done on time (the lowest is).
    """
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170, stderr=to_stderr)  # with --json, stdout is the JSON alone
    table = Table(title=f"{targets:,} targets on 127.0.0.1, at most {CONCURRENCY} checks at once")
    for column, justify in (
        ("tool", "left"),
        ("protocol", "left"),
        ("checks", "right"),
        ("ok", "right"),
        ("checks/s", "right"),
        ("CPU s / 1,000 checks", "right"),
        ("checks per CPU s", "right"),
        ("targets' CPU s / 1,000", "right"),
        ("driver's CPU s / 1,000", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for run in runs:
        table.add_row(
            run.tool,
            run.protocol,
            f"{run.checks:,}",
            f"{run.ok:,}",
            f"{run.per_s:,.0f}",
            f"{run.cpu_per_1000:.3f}",
            f"{run.per_cpu_s:,.0f}",
            f"{1000 * run.targets_cpu_s / max(run.checks, 1):.3f}",
            f"{1000 * run.driver_cpu_s / run.checks:.3f}" if run.driver_cpu_s is not None else "",
        )
    console.print(table)
    console.print(f"peer: {exporter_version}; CPU per 1,000 checks of the exporter process alone")
    for run in runs:
        if run.note:
            console.print(f"  {run.tool} {run.protocol}: {run.note}")
        if run.failures:
            console.print(f"  {run.tool} {run.protocol} failures: {run.failures}")

    def find(tool: str, protocol: str) -> Run | None:
        return next((r for r in runs if r.tool.startswith(tool) and r.protocol.startswith(protocol)), None)

    worker = f"Standby worker {interval_s:g} s"
    due_rate = f"{targets / interval_s:,.0f} due a second"
    ratios: list[dict[str, Any]] = []

    def ratio(name: str, value: float, target: float) -> None:
        ratios.append(
            {"name": name, "value": round(value, 3), "target": target, "unit": "x", "better": "higher"}
        )

    for protocol in ("http", "tcp"):
        peer = find("blackbox", protocol)
        for tool, who in (
            ("Standby checker", "checker"),
            (worker, "worker"),
            ("Standby worker 0.5 s", "worker saturated"),
        ):
            mine = find(tool, protocol)
            if peer is not None and mine is not None:
                name = f"{protocol.upper()} checks per CPU s, Standby {who} / blackbox_exporter"
                ratio(name, mine.per_cpu_s / peer.per_cpu_s, 1.0)
    for protocol in ("http", "tcp", "sip"):
        for run in runs:
            if run.tool == worker and run.protocol.startswith(protocol) and run.due_done is not None:
                name = f"Standby worker, {protocol.upper()} probes at {due_rate}: due checks done on time"
                ratio(name, min(worker_due.get(protocol, [run.due_done])), 1.0)
    sip, tcp = find("Standby checker", "sip_options (UDP)"), find("Standby checker", "tcp")
    if sip is not None and tcp is not None:
        ratio("SIP OPTIONS / TCP checks per CPU s, Standby checker", sip.per_cpu_s / tcp.per_cpu_s, 1.0)
    behind = behind or []
    comparable = [value for turn, value in enumerate(worker_sip_tcp) if turn not in behind]
    if worker_sip_tcp:
        # The turns where both workers kept up, when there are any.
        chosen = sorted(comparable or worker_sip_tcp)
        middle = chosen[len(chosen) // 2]
        ratio("SIP OPTIONS / TCP checks per CPU s, Standby worker", middle, 1.0)
    console.print("Ratios (checks per CPU second, unless said) against their targets:")
    for entry in ratios:
        met = "met" if entry["value"] >= entry["target"] else "NOT met"
        console.print(f"  {entry['name']}: {entry['value']:.2f}x (target {entry['target']:g}x: {met})")
    if len(worker_sip_tcp) > 1:
        turns = " ".join(
            f"{value:.2f}{'*' if turn in behind else ''}" for turn, value in enumerate(worker_sip_tcp)
        )
        console.print(
            f"  worker SIP OPTIONS / TCP in each turn (median above; * a worker fell behind): {turns}"
        )
    for protocol, values in worker_due.items():
        if len(values) > 1:
            shares = " ".join(f"{value:.3f}" for value in values)
            console.print(
                f"  worker {protocol} due checks done on time in each turn (lowest above): {shares}"
            )
    failed = [
        f"{r.tool} {r.protocol}" for r in runs if r.tool.startswith("Standby worker") and r.ok != r.checks
    ]
    if failed:
        console.print(f"  false failures (every target answers): {', '.join(failed)}")
    return {
        "ratios": ratios,
        "worker_interval_s": interval_s,
        "worker_sip_tcp_turns": worker_sip_tcp,
        "worker_sip_tcp_turns_behind": behind,
        "worker_due_done_turns": worker_due,
    }


def _print_turn(measured: dict[tuple[str, str], list[Run]], turn: int) -> None:
    """This turn's checker figures and SIP/TCP ratio: runs side by side share the machine's load."""
    latest = {protocol: runs[turn] for (tool, protocol), runs in measured.items() if tool == "checker"}
    text = ", ".join(f"{p} {r.per_cpu_s:,.0f} checks per CPU s ({r.per_s:,.0f}/s)" for p, r in latest.items())
    if "sip" in latest and "tcp" in latest:
        text += f"; SIP/TCP {latest['sip'].per_cpu_s / latest['tcp'].per_cpu_s:.2f}x"
    print(f"… turn {turn + 1}: {text}", file=sys.stderr)


def _order(key: tuple[str, str]) -> tuple[int, int]:
    return ("tcp", "http", "sip").index(key[1]), ("checker", "blackbox").index(key[0])


async def run_all(args: argparse.Namespace) -> None:
    raise_nofile(args.targets * 2 + 4096)
    measured: dict[tuple[str, str], list[Run]] = collections.defaultdict(list)
    protocols = [p for p in ("tcp", "sip", "http") if p in args.protocols.split(",")]
    with Targets(args.targets) as targets, tempfile.TemporaryDirectory(prefix="standby-bb-") as tmp:
        exporter = None if args.no_exporter else Exporter(Path(tmp))
        try:
            version = exporter.version() if exporter is not None else "not run (--no-exporter)"
            # Interleaved and repeated, so that a neighbour's load on this shared machine hits
            # both sides alike; HTTP, ten times slower, gets half the rounds.
            for turn in range(args.repeat):
                for protocol in protocols:
                    rounds = max(1, args.rounds // 2) if protocol == "http" else args.rounds
                    print(f"… {turn + 1}/{args.repeat} Standby checker, {protocol}", file=sys.stderr)
                    measured["checker", protocol].append(await standby_checker(protocol, targets, rounds))
                    if protocol in MODULES and exporter is not None:
                        print(f"… {turn + 1}/{args.repeat} blackbox_exporter, {protocol}", file=sys.stderr)
                        run = blackbox(protocol, exporter, targets, rounds, Path(tmp))
                        measured["blackbox", protocol].append(run)
                if len(protocols) > 1:
                    _print_turn(measured, turn)
        finally:
            if exporter is not None:
                exporter.stop()
        runs = [median_run(measured[key]) for key in sorted(measured, key=_order)]
        if "sip" in protocols:
            print("… Standby checker, sip against one SIPp", file=sys.stderr)
            against_sipp = await standby_against_sipp(min(args.targets, 5000), Path(tmp))
            if against_sipp is not None:
                runs.append(against_sipp)
        worker_sip_tcp: list[float] = []
        worker_due: dict[str, list[float]] = collections.defaultdict(list)
        behind: list[int] = []
        if args.worker_seconds > 0:
            runs += await run_workers(args, protocols, targets, worker_sip_tcp, worker_due, behind)
    report = print_report(
        runs,
        targets=args.targets,
        exporter_version=version,
        interval_s=args.worker_interval,
        worker_sip_tcp=worker_sip_tcp,
        worker_due=dict(worker_due),
        behind=behind,
        to_stderr=args.json,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "targets": args.targets,
                    "rounds": args.rounds,
                    "runs": [{**asdict(r), "per_s": r.per_s, "cpu_per_1000": r.cpu_per_1000} for r in runs],
                    **report,
                },
                indent=2,
            )
        )


def main() -> None:
    """Parse the options and run every measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=5000, help="targets on 127.0.0.1")
    parser.add_argument("--rounds", type=int, default=2, help="times each target is checked per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median shown)")
    parser.add_argument(
        "--worker-seconds", type=float, default=30, help="measured seconds of each worker run (0: none)"
    )
    parser.add_argument(
        "--protocols", default="tcp,sip,http", help="comma-separated subset of tcp,sip,http to measure"
    )
    parser.add_argument("--no-exporter", action="store_true", help="leave blackbox_exporter out")
    parser.add_argument(
        "--postgres", metavar="URL", help="run the worker on a scratch database of this server, not SQLite"
    )
    parser.add_argument("--worker-interval", type=float, default=10.0, help="the worker's check interval, s")
    parser.add_argument(
        "--worker-repeat", type=int, default=2, help="interleaved turns of the worker over each protocol"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (under a minute): 1,000 targets, one run each, the worker at 2 s (500 due/s)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout (the table on stderr)"
    )
    args = parser.parse_args()
    if args.quick:
        args.targets, args.rounds, args.repeat = min(args.targets, 1000), 1, 1
        args.worker_interval, args.worker_repeat = args.targets / 500, 1
        args.worker_seconds = min(args.worker_seconds, 2 * args.worker_interval)
    asyncio.run(run_all(args))


if __name__ == "__main__":
    main()
