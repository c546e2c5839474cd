"""`standby impact`: the outage scenario simulated, summarised, as JSON or as an HTML report."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from standby.cli.common import PlanArg, app, err, fail, out, read_plan

if TYPE_CHECKING:  # imported where used: every command starts without the simulation's imports
    from standby.impact.results import ScheduledCallback
    from standby.plan.schema import Plan

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0", ""})


@app.command()
def impact(
    plan_path: PlanArg,
    down: Annotated[
        str,
        typer.Option(
            "--down",
            metavar="ID[,ID]",
            help="Component ids that go down, comma-separated.",
            show_default=False,
        ),
    ],
    at: Annotated[
        str,
        typer.Option(
            "--at", metavar="HH:MM", help="When they go down, in the plan's time zone.", show_default=False
        ),
    ],
    minutes: Annotated[
        int,
        typer.Option("--minutes", metavar="N", help="How many minutes they stay down.", show_default=False),
    ],
    replications: Annotated[
        int,
        typer.Option(
            "--replications",
            metavar="R",
            help="Simulated days, each with and without the outage; more narrows the confidence intervals.",
        ),
    ] = 20,
    seed: Annotated[
        int, typer.Option("--seed", metavar="S", help="Random seed: the same seed gives the same result.")
    ] = 1,
    callbacks_csv: Annotated[
        Path | None,
        typer.Option(
            "--callbacks",
            metavar="CSV",
            help="Scheduled callbacks: a CSV with columns due_at (HH:MM, or ISO 8601 with an offset), queue"
            " and vulnerable (true/false).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", metavar="W", help="Processes to simulate in.", show_default="all cores"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
    html_path: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Also write the report as one HTML file.", show_default=False
        ),
    ] = None,
    uncovered: Annotated[
        bool,
        typer.Option(
            "--uncovered", help="Simulate an outage that no strategy of the plan covers (refused otherwise)."
        ),
    ] = False,
    handling_cv: Annotated[
        float | None,
        typer.Option(
            "--handling-cv",
            metavar="CV",
            help="Lognormal handling times with this coefficient of variation (default: exponential).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Simulate the centre's day with components down, against the same day without: the outage's cost."""
    # Imported here: the simulation and its reports are needed by this command only. What is
    # needed to check the scenario comes first; the simulation's stack (numpy, processes) and the
    # reports' (jinja2) only once there is something to simulate, so a mistake is told at once.
    from standby.errors import ScenarioInvalid
    from standby.impact.results import Scenario
    from standby.impact.scenario import check_covered, check_scenario

    down_ids = _down_option(down)
    if handling_cv is not None and handling_cv <= 0:
        raise fail(f"--handling-cv must be above 0 (1 is as variable as exponential), got {handling_cv}")
    start = _clock_option("--at", at)
    if minutes < 1:
        raise fail(f"--minutes must be at least 1 (how long the components stay down), got {minutes}")
    if replications < 1:
        raise fail(f"--replications must be at least 1, got {replications}")
    if seed < 0:
        raise fail(f"--seed must be 0 or more, got {seed}")
    if workers is not None and workers < 1:
        raise fail(f"--workers must be at least 1, got {workers}")
    if html_path is not None and (html_path.is_dir() or not html_path.parent.is_dir()):
        where = "is a directory" if html_path.is_dir() else f"is in {html_path.parent}, which does not exist"
        raise fail(f"--html {html_path} {where}: give a file in an existing directory")
    plan = read_plan(plan_path)
    callbacks = _read_callbacks(callbacks_csv, plan) if callbacks_csv is not None else ()
    scenario = Scenario(down=down_ids, at=start, minutes=minutes)
    try:
        check_scenario(plan, scenario, callbacks)
        if not uncovered:
            check_covered(plan, scenario)
        from standby.impact.simulation import run_impact

        with _simulation_progress() as on_progress:
            result = run_impact(
                plan,
                scenario,
                replications=replications,
                seed=seed,
                callbacks=callbacks,
                workers=workers,
                on_progress=on_progress,
                handling_cv=handling_cv,
            )
    except ScenarioInvalid as exc:
        raise fail(f"{plan_path}: {exc}") from None
    from standby.impact.report import Labels, summary

    labels = Labels.of(plan)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        out.print(summary(result, labels), soft_wrap=False)
    if html_path is not None:
        # The edge may read the clock: the report says when it was written.
        from standby.impact.html import render_html

        written = datetime.now(ZoneInfo(plan.organisation.timezone)).strftime("%Y-%m-%d %H:%M %Z")
        page = render_html(result, labels, plan_source=f"plan {plan_path.name}", generated=written)
        try:
            html_path.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {html_path}: {exc.strerror}") from None
        (err if as_json else out).print(f"Wrote the HTML report to {html_path}", markup=False, soft_wrap=True)


def _down_option(text: str) -> tuple[str, ...]:
    """The component ids of --down, in order, each once."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise fail("--down needs at least one component id, such as --down acd or --down acd,crm")
    return tuple(dict.fromkeys(ids))


def _clock_option(name: str, text: str) -> int:
    """An HH:MM option as minutes since midnight."""
    from standby.impact.report import parse_clock

    try:
        return parse_clock(text)
    except ValueError as exc:
        raise fail(f"{name} {exc}") from None


def _read_callbacks(path: Path, plan: Plan) -> tuple[ScheduledCallback, ...]:
    """Scheduled callbacks from a CSV (due_at, queue, vulnerable); each bad cell named by line and column."""
    from standby.impact.report import due_minute
    from standby.impact.results import ScheduledCallback as Callback

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise fail(f"--callbacks {path}: cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise fail(f"--callbacks {path}: not UTF-8 text; save the CSV as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("due_at", "queue") if c not in columns]
    if missing:
        raise fail(
            f"{path}:1: the header row lacks {', '.join(missing)}; the columns are due_at, queue and"
            " vulnerable (others are ignored)"
        )
    queues = plan.queues_by_id
    found: list[Callback] = []
    for row in reader:
        line = reader.line_num
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        try:
            due = due_minute(cells.get("due_at", ""), plan.organisation.timezone)
        except ValueError as exc:
            raise fail(f"{path}:{line}: column due_at: {exc}") from None
        queue = cells.get("queue", "")
        if queue not in queues:
            known = ", ".join(queues) or "none"
            raise fail(
                f"{path}:{line}: column queue: {queue!r} is not a queue of the plan (its queues: {known})"
            )
        flag = cells.get("vulnerable", "").lower()
        if flag not in _TRUE | _FALSE:
            raise fail(f"{path}:{line}: column vulnerable: {flag!r} is not true, false, yes, no, 1 or 0")
        found.append(Callback(due=due, queue=queue, vulnerable=flag in _TRUE))
    return tuple(found)


@contextmanager
def _simulation_progress() -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (stdout stays clean for --json), fed by the simulation's reports."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("Simulating days"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Only on a terminal: a bar redrawn into a log file or a pipe is noise.
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("simulate", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield report
