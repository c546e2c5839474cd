"""Run every benchmark and print each figure against its target in one table.

`benchmarks/run --quick` runs each script under benchmarks/ (every `*.py` not starting with
an underscore) as a process of its own, one after the other, with `--quick --json`, reads the
"ratios" of the JSON object it prints (see benchmarks/_ratios.py) and prints one table:
benchmark, figure, measured, target, and whether the target was met. A benchmark that left
something out (no peer installed, no PostgreSQL) shows why; one that crashed shows the last
line of its standard error; one that outlived `--timeout` is ended with all its processes.
Missing a target does not change the exit code: this is a view, not a gate (CI does not run
it). A usage error exits with 2.

    benchmarks/run --quick [--only cli_start,forecast] [--postgres URL] [--timeout 600] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

HERE = Path(__file__).resolve().parent
QUICK_TIMEOUT_S = 600.0
FULL_TIMEOUT_S = 3600.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FIELDS = ("name", "value", "target", "unit", "better")


@dataclass(frozen=True)
class Figure:
    """One figure a benchmark measured, against its target."""

    name: str
    value: float
    target: float
    unit: str
    better: str

    @property
    def met(self) -> bool:
        """Whether the measured value is on the right side of the target (the target itself counts)."""
        return self.value >= self.target if self.better == "higher" else self.value <= self.target


@dataclass
class Outcome:
    """What one benchmark's run gave: its figures, or why there are none."""

    benchmark: str
    status: str  # "ran", "failed" or "timed out"
    seconds: float
    figures: list[Figure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reason: str = ""


def discover(folder: Path = HERE) -> dict[str, Path]:
    """Every benchmark script in `folder` by name: the `*.py` files not starting with `_`."""
    return {path.stem: path for path in sorted(folder.glob("*.py")) if not path.name.startswith("_")}


def takes_postgres(script: Path) -> bool:
    """Whether the script has a `--postgres URL` option: its source declares one, itself or through
    `_scratch.add_database_options`."""
    text = script.read_text(encoding="utf-8")
    return '"--postgres"' in text or "add_database_options(" in text


def last_line(text: str) -> str:
    """The last non-blank line of a process's output, without colour codes, cut to 200 characters."""
    lines = [line.strip() for line in ANSI.sub("", text).splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def json_object(stdout: str) -> dict[str, Any]:
    """The JSON object a benchmark printed: all of stdout, else the last object starting a line."""
    text = stdout.strip()
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        found = None
        decoder = json.JSONDecoder()
        starts = [m.start() for m in re.finditer(r"^\{", text, flags=re.MULTILINE)]
        for start in reversed(starts):
            try:
                found, _end = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                continue
            break
    if not isinstance(found, dict):
        raise ValueError("printed no JSON object on stdout")
    return found


def figures_of(found: dict[str, Any]) -> list[Figure]:
    """The figures of a benchmark's JSON object, checked; ValueError says which entry is wrong and why."""
    ratios = found.get("ratios")
    if not isinstance(ratios, list):
        raise ValueError('its JSON object has no "ratios" list')
    figures = []
    for index, entry in enumerate(ratios):
        where = f"ratios[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not an object")
        missing = [key for key in FIELDS if key not in entry]
        if missing:
            raise ValueError(f"{where} has no {', '.join(missing)}")
        if not isinstance(entry["name"], str) or not isinstance(entry["unit"], str):
            raise ValueError(f"{where}: name and unit must be text")
        for key in ("value", "target"):
            number = entry[key]
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise ValueError(f"{where}: {key} must be a finite number, not {number!r}")
        if entry["better"] not in ("higher", "lower"):
            raise ValueError(f"{where}: better must be \"higher\" or \"lower\", not {entry['better']!r}")
        figures.append(Figure(*(entry[key] for key in FIELDS)))
    return figures


def skipped_of(found: dict[str, Any]) -> list[str]:
    """The parts a benchmark said it left out, as text."""
    skipped = found.get("skipped") or []
    return [skipped] if isinstance(skipped, str) else [str(reason) for reason in skipped]


def why_missing(stderr: str) -> str | None:
    """A crash that means a peer or tool is not installed, as the reason to show, else None."""
    line = last_line(stderr)
    module = re.search(r"ModuleNotFoundError: No module named '([^']+)'", line)
    if module:
        return f"{module.group(1)} not installed (benchmarks/install-peers)"
    if "install-peers" in line:
        return line
    program = re.search(r"FileNotFoundError: .*No such file or directory: '([^']+)'", line)
    if program and "/" not in program.group(1):
        return f"{program.group(1)} not installed (benchmarks/install-peers)"
    return None


def _end_group(process: subprocess.Popen[str]) -> None:
    """End a benchmark and every process it started (its own session): TERM, then KILL."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_one(name: str, command: Sequence[str], timeout: float) -> Outcome:
    """Run one benchmark's command, bounded by `timeout` seconds, and read what it gave."""
    started = time.perf_counter()
    # Output goes to files, not pipes: a benchmark's children may keep a pipe open after it ends.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            list(command), stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True,
            start_new_session=True, cwd=HERE.parent,
        )
        try:
            process.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        # Whatever the benchmark left running (servers, wrk) ends with it.
        _end_group(process)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if timed_out:
        return Outcome(name, "timed out", seconds, reason=f"still running after {timeout:.0f} s")
    if process.returncode != 0:
        missing = why_missing(stderr)
        if missing:
            return Outcome(name, "ran", seconds, skipped=[missing])
        reason = last_line(stderr) or f"exit status {process.returncode}, nothing on stderr"
        return Outcome(name, "failed", seconds, reason=reason)
    try:
        found = json_object(stdout)
        return Outcome(name, "ran", seconds, figures=figures_of(found), skipped=skipped_of(found))
    except ValueError as error:
        return Outcome(name, "failed", seconds, reason=str(error))


def command_for(script: Path, quick: bool, postgres: str | None) -> list[str]:
    """The command that runs one benchmark's short (or full) form with --json."""
    command = [sys.executable, str(script), *(["--quick"] if quick else []), "--json"]
    if postgres and takes_postgres(script):
        command += ["--postgres", postgres]
    return command


def run_all(
    scripts: dict[str, Path], quick: bool, postgres: str | None, timeout: float,
    on_start: Callable[[int, str], None] = lambda _done, _name: None,
) -> list[Outcome]:
    """Run the benchmarks one after the other (never at once: each measures the machine)."""
    outcomes = []
    for done, (name, script) in enumerate(scripts.items()):
        on_start(done, name)
        outcomes.append(run_one(name, command_for(script, quick, postgres), timeout))
    return outcomes


def amount(value: float, unit: str) -> str:
    """A figure as the table shows it: three significant digits and its unit."""
    shown = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    if unit == "x":
        return f"{shown}\N{MULTIPLICATION SIGN}"
    return f"{shown} {unit}" if unit else shown


def rows(outcomes: list[Outcome]) -> list[dict[str, str]]:
    """The table's rows: one per figure, per part left out, or per failed benchmark."""
    found = []
    for outcome in outcomes:
        for figure in outcome.figures:
            sign = "≥" if figure.better == "higher" else "≤"
            found.append({
                "benchmark": outcome.benchmark, "figure": figure.name,
                "measured": amount(figure.value, figure.unit),
                "target": f"{sign} {amount(figure.target, figure.unit)}",
                "result": "met" if figure.met else "not met",
            })
        found.extend(
            {"benchmark": outcome.benchmark, "figure": "", "measured": "", "target": "",
             "result": f"skipped: {reason}"}
            for reason in outcome.skipped
        )
        if outcome.status != "ran" or not (outcome.figures or outcome.skipped):
            result = f"{outcome.status}: {outcome.reason}" if outcome.reason else "gave no figure"
            found.append({"benchmark": outcome.benchmark, "figure": "", "measured": "", "target": "",
                          "result": result})
    return found


def table(outcomes: list[Outcome], quick: bool) -> Table:
    """One Rich table of every figure against its target."""
    met = sum(figure.met for outcome in outcomes for figure in outcome.figures)
    total = sum(len(outcome.figures) for outcome in outcomes)
    form = "short forms (--quick)" if quick else "full forms"
    shown = Table(title=f"Benchmarks, {form}: {met} of {total} targets met")
    for column in ("benchmark", "figure", "measured", "target", "result"):
        shown.add_column(column, justify="right" if column in ("measured", "target") else "left",
                         overflow="fold")
    styles = {"met": "green", "not met": "bold red"}
    for row in rows(outcomes):
        style = styles.get(row["result"], "yellow" if row["result"].startswith("skipped") else "red")
        shown.add_row(*(row[key] for key in ("benchmark", "figure", "measured", "target")),
                      f"[{style}]{row['result']}[/]")
    return shown


def as_json(outcomes: list[Outcome], quick: bool) -> dict[str, Any]:
    """The whole table as one JSON object: the rows, and each benchmark's outcome with its figures."""
    benchmarks = []
    for outcome in outcomes:
        found = asdict(outcome)
        found["seconds"] = round(outcome.seconds, 2)
        for entry, figure in zip(found["figures"], outcome.figures, strict=True):
            entry["met"] = figure.met
        benchmarks.append(found)
    return {"quick": quick, "rows": rows(outcomes), "benchmarks": benchmarks}


def parse(argv: Sequence[str] | None, scripts: dict[str, Path]) -> argparse.Namespace:
    """The runner's options; an unknown benchmark name is a usage error (exit status 2)."""
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short forms (each under about a minute)")
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"of: {', '.join(scripts)}")
    parser.add_argument("--json", action="store_true", help="print the whole table as JSON on stdout")
    parser.add_argument("--postgres", metavar="URL", help="passed to the benchmarks that take --postgres")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help=f"seconds a benchmark may run (default {QUICK_TIMEOUT_S:.0f} quick, "
                             f"{FULL_TIMEOUT_S:.0f} full)")
    args = parser.parse_args(argv)
    if args.only is not None:
        names = [name.strip().removesuffix(".py") for name in args.only.split(",") if name.strip()]
        unknown = [name for name in names if name not in scripts]
        if unknown or not names:
            parser.error(f"--only: no benchmark named {', '.join(unknown) or '(none given)'}; "
                         f"there are: {', '.join(scripts)}")
        args.only = names
    if args.timeout is not None and not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, not {args.timeout}")
    return args


def main(argv: Sequence[str] | None = None, folder: Path = HERE) -> int:
    """Run the benchmarks asked for and print the table (or its JSON); 0 unless the options are wrong."""
    scripts = discover(folder)
    args = parse(argv, scripts)
    chosen = {name: scripts[name] for name in args.only} if args.only else scripts
    timeout = args.timeout or (QUICK_TIMEOUT_S if args.quick else FULL_TIMEOUT_S)
    errors = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=errors, transient=True) as progress:
        task = progress.add_task("benchmarks", total=len(chosen))

        def started(done: int, name: str) -> None:
            progress.update(task, completed=done, description=f"{name} ({done + 1} of {len(chosen)})")

        outcomes = run_all(chosen, args.quick, args.postgres, timeout, started)
    if args.json:
        print(json.dumps(as_json(outcomes, args.quick), indent=2, ensure_ascii=False))
    else:
        out = Console()
        if not out.is_terminal:
            out = Console(width=160)  # a file or a pipe: keep each row on a line or two
        out.print(table(outcomes, args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
