"""How long `standby` takes to start: --help, a plan check and audit, `erlang`, `impact` to its first step.

Each command is run as a fresh process, `--runs` times, beside the interpreter's own start
(`python -c pass`, the floor no Python command can beat) in the same run, so the ratios
hold on a busy machine too. The target (issue 18) is under 0.3 s for `standby --help` and
for any command's start.

`impact` "up to its first step" is `standby impact PLAN --down no-such-component --at 10:00
--minutes 30`: it parses the options, reads the plan and stops at the scenario check (the
component is unknown), before simulating anything. The simulation's own imports (numpy, the
process pool, the reports) come after that check, so they are not in this figure. (Without
--at and --minutes, the command stops at typer's usage error, before reading the plan.)

    python benchmarks/cli_start.py [--runs 15] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from _ratios import figure, print_json

TARGET_S = 0.3


def _standby() -> list[str]:
    """The `standby` console script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("standby")
    if script.exists():
        return [str(script)]
    found = shutil.which("standby")
    return [found] if found else [sys.executable, "-m", "standby"]


def _time(command: list[str], runs: int, progress: Progress, label: str) -> list[float]:
    """Wall seconds of `runs` runs of `command` (its output discarded)."""
    task = progress.add_task(label, total=runs)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # A plain wait blocks in waitpid and returns the moment the command ends. A wait with a
        # timeout (subprocess.run's) polls, sleeping up to 50 ms between looks, which rounded
        # every time up to the next 50 ms step (0.215, 0.265, 0.315 s ...). The bound is kept
        # by a timer that kills a command still running after 60 s.
        guard = threading.Timer(60, process.kill)
        guard.start()
        try:
            process.wait()
        finally:
            guard.cancel()
        times.append(time.perf_counter() - started)
        progress.advance(task)
    return times


def main() -> None:
    """Run every command `--runs` times and print medians, p90 and the ratio to Python's start."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 runs of each command")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    if args.quick:
        args.runs = min(args.runs, 5)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, not {args.runs}")
    # With --json, stdout carries the JSON object alone: the table goes to stderr.
    console = Console(stderr=args.json)
    standby = _standby()
    with tempfile.TemporaryDirectory() as folder:
        plan = Path(folder) / "plan.yaml"
        subprocess.run([*standby, "init", folder], check=True, stdout=subprocess.DEVNULL)
        commands = {
            "python -c pass (the floor)": [sys.executable, "-c", "pass"],
            "standby --help": [*standby, "--help"],
            "standby check PLAN": [*standby, "check", str(plan)],
            "standby audit PLAN": [*standby, "audit", str(plan)],
            "standby erlang (Erlang A, one interval)": [
                *standby, "erlang", "--calls", "100", "--interval-minutes", "30", "--aht-s", "300",
                "--agents", "20", "--answer-within-s", "20", "--patience-s", "120",
            ],
            "standby impact, up to its first step": [
                *standby, "impact", str(plan), "--down", "no-such-component",
                "--at", "10:00", "--minutes", "30",
            ],
        }
        with Progress(console=console, transient=True) as progress:
            results = {label: _time(cmd, args.runs, progress, label) for label, cmd in commands.items()}
    floor = statistics.median(results["python -c pass (the floor)"])
    table = Table(title=f"Start times, {args.runs} runs each (target: under {TARGET_S} s)")
    for column in ("command", "median s", "p90 s", "times Python's start", "target"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for label, times in results.items():
        median = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else median
        met = "" if label.startswith("python") else ("met" if median < TARGET_S else "MISSED")
        table.add_row(label, f"{median:.3f}", f"{p90:.3f}", f"{median / floor:.1f}", met)
    console.print(table)
    if args.json:
        print_json([
            figure(f"{label}, median", statistics.median(times), TARGET_S, "s", "lower")
            for label, times in results.items() if not label.startswith("python")
        ], python_start_s=floor)


if __name__ == "__main__":
    main()
