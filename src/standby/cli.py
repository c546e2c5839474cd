"""The `standby` command: a thin edge that parses, calls the plan and services, and renders.

Exit codes: 0 success; 1 the command ran and found what it reports as failing;
2 bad input or usage, with a message that says what and where.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role, parse_role
from standby.access.service import (
    create_token,
    create_user,
    list_tokens,
    list_users,
    revoke_token,
    set_password,
)
from standby.clock import SystemClock
from standby.config import Settings
from standby.errors import PlanInvalid, StandbyError
from standby.impact.erlang import Performance, Traffic, performance
from standby.impact.report import due_minute, parse_clock
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.staffing import staff as staff_for
from standby.plan.audit import audit as audit_plan
from standby.plan.format_doc import field_reference_markdown
from standby.plan.loading import load_plan_file, plan_json_schema, reference_plan_text
from standby.plan.report import audit_json, audit_table
from standby.plan.schema import Plan
from standby.store.engine import make_engine, make_session_factory, mask_password, unit_of_work
from standby.store.migrations import current_revision, upgrade

app = typer.Typer(
    name="standby",
    help="Keeps a contact centre answering when its systems fail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

PlanArg = Annotated[Path, typer.Argument(help="The plan file (YAML).", show_default=False)]


def fail(message: str) -> typer.Exit:
    """Print a usage or input error to stderr; the caller raises what this returns (exit 2)."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def read_plan(path: Path) -> Plan:
    """Load a plan for a command, turning every problem into `PLAN:LINE:COLUMN: message` and exit 2."""
    try:
        return load_plan_file(path)
    except PlanInvalid as invalid:
        for problem in invalid.problems:
            err.print(problem.render(str(path)), markup=False, soft_wrap=True)
        err.print(f"{len(invalid.problems)} problem(s) found in {path}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write plan.yaml.", show_default="current directory")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing plan.yaml.")] = False,
) -> None:
    """Write a starter plan (the reference plan) as DIR/plan.yaml."""
    target = directory / "plan.yaml"
    if directory.exists() and not directory.is_dir():
        raise fail(f"{directory} is a file, not a directory")
    if target.exists() and not force:
        raise fail(f"{target} already exists; pass --force to overwrite it")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(reference_plan_text(), encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror}") from None
    out.print(f"Wrote the reference plan to {target}. Next: standby check {target}")


@app.command()
def check(plan_path: PlanArg) -> None:
    """Validate a plan; every error as PLAN:LINE:COLUMN: message (exit 2), or a summary (exit 0)."""
    plan = read_plan(plan_path)
    out.print(
        f"{plan_path}: ok: {plan.organisation.name}: {len(plan.components)} components,"
        f" {len(plan.sites)} sites, {len(plan.queues)} queues, {len(plan.teams)} teams,"
        f" {sum(t.agents for t in plan.teams)} agents, {len(plan.stakeholders)} stakeholder groups",
        markup=False,
        soft_wrap=True,
    )


@app.command("audit")
def audit_command(
    plan_path: PlanArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when a high-severity finding exists.")
    ] = False,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            metavar="YYYY-MM-DD",
            help="Audit as of this date.",
            show_default="today in the plan's time zone",
        ),
    ] = None,
) -> None:
    """The platform audit: single points of failure, end of life, overdue reviews and drills."""
    as_of: date | None = None
    if today is not None:
        try:
            as_of = date.fromisoformat(today)
        except ValueError:
            raise fail(f"--today {today!r} is not a date: write it as YYYY-MM-DD") from None
    plan = read_plan(plan_path)
    if as_of is None:
        # The edge may read the clock; the audit itself is given the date.
        as_of = datetime.now(ZoneInfo(plan.organisation.timezone)).date()
    findings = audit_plan(plan, today=as_of)
    if as_json:
        sys.stdout.write(json.dumps(audit_json(str(plan_path), as_of, findings), indent=2) + "\n")
    else:
        out.print(audit_table(findings, title=f"Audit of {plan_path} on {as_of}"))
    if strict and any(finding.severity == "high" for finding in findings):
        raise typer.Exit(EXIT_FINDINGS)


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0", ""})


@app.command()
def impact(
    plan_path: PlanArg,
    down: Annotated[
        str,
        typer.Option(
            "--down", metavar="ID[,ID]", help="Component ids that go down, comma-separated.",
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
    # Imported here: the simulation and its reports are needed by this command only.
    from standby.errors import ScenarioInvalid
    from standby.impact.html import render_html
    from standby.impact.report import Labels, summary
    from standby.impact.scenario import check_covered, check_scenario
    from standby.impact.simulation import run_impact

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
    labels = Labels.of(plan)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        out.print(summary(result, labels), soft_wrap=False)
    if html_path is not None:
        # The edge may read the clock: the report says when it was written.
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
    try:
        return parse_clock(text)
    except ValueError as exc:
        raise fail(f"{name} {exc}") from None


def _read_callbacks(path: Path, plan: Plan) -> tuple[ScheduledCallback, ...]:
    """Scheduled callbacks from a CSV (due_at, queue, vulnerable); each bad cell named by line and column."""
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
    found: list[ScheduledCallback] = []
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
        found.append(ScheduledCallback(due=due, queue=queue, vulnerable=flag in _TRUE))
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


_MODEL_HELP = (
    "Erlang A when --patience-s is given (callers hang up), else Erlang C (callers wait as long as it"
    " takes, so it needs more agents than the offered load)."
)
_DEFINITIONS_HELP = (
    "Service level: calls answered within T (--answer-within-s) over calls offered, so a call that"
    " abandons counts against it. Also shown: answered within T over answered calls, and answered"
    " within T over offered calls less those abandoned within T. ASA: the mean wait of answered"
    " calls. Mean wait of all calls: an abandoned call counts its time until it hung up."
)
CallsOption = Annotated[
    float, typer.Option("--calls", metavar="N", help="Calls offered over the interval.", show_default=False)
]
IntervalOption = Annotated[
    float,
    typer.Option(
        "--interval-minutes", metavar="M", help="The interval's length in minutes.", show_default=False
    ),
]
AhtOption = Annotated[
    float, typer.Option("--aht-s", metavar="S", help="Mean handling time in seconds.", show_default=False)
]
WithinOption = Annotated[
    float,
    typer.Option(
        "--answer-within-s", metavar="T", help="The service-level threshold in seconds.", show_default=False
    ),
]
PatienceOption = Annotated[
    float | None,
    typer.Option(
        "--patience-s",
        metavar="P",
        help="Callers' mean patience in seconds: use Erlang A (callers hang up), not Erlang C.",
        show_default="none: Erlang C, nobody hangs up",
    ),
]


def _traffic(calls: float, interval: float, aht_s: float, within: float, patience: float | None) -> Traffic:
    """The traffic the options describe, or exit 2 naming the option that is wrong."""
    try:
        return Traffic.over_interval(
            calls=calls, interval_minutes=interval, aht_s=aht_s, answer_within_s=within, patience_s=patience
        )
    except StandbyError as exc:
        raise fail(_as_options(str(exc))) from None


def _as_options(message: str) -> str:
    """A core message with the options' names: aht_s becomes --aht-s, and so on."""
    message = re.sub(
        r"\b(interval_minutes|aht_s|answer_within_s|patience_s|max_occupancy|max_abandon)\b",
        lambda found: "--" + found.group(1).replace("_", "-"),
        message,
    )
    # Plain words are option names only where the message starts with one ("calls must be ...").
    return re.sub(r"^(calls|agents|target) ", r"--\1 ", message)


def _performance_table(result: Performance, title: str) -> Table:
    """Every measure of `result`, one a row, with the model in the title."""
    model = "Erlang A" if result.model == "erlang-a" else "Erlang C"
    within = f"{result.traffic.answer_within_s:g} s"
    table = Table("measure", "value", title=f"{title} ({model})", title_justify="left")
    table.add_row("agents", f"{result.agents:,}")
    table.add_row("offered load", f"{result.traffic.offered_load:,.2f} Erlangs")
    table.add_row(f"service level (answered within {within} / offered)", f"{result.service_level:.2%}")
    table.add_row(f"  answered within {within} / answered", f"{result.service_level_of_answered:.2%}")
    table.add_row(
        f"  ... / offered less abandoned within {within}",
        f"{result.service_level_excluding_short_abandons:.2%}",
    )
    table.add_row("average speed of answer (answered calls)", f"{result.asa_s:,.1f} s")
    table.add_row("mean wait of all calls", f"{result.mean_wait_s:,.1f} s")
    table.add_row("probability of waiting", f"{result.p_wait:.2%}")
    table.add_row("probability of abandoning", f"{result.p_abandon:.2%}")
    table.add_row(f"  abandoning within {within}", f"{result.p_abandon_within_threshold:.2%}")
    table.add_row("occupancy", f"{result.occupancy:.2%}")
    return table


@app.command(
    "erlang",
    short_help="Service level, ASA, P(wait), P(abandon) and occupancy with a number of agents.",
    help="Service level, ASA, P(wait), P(abandon) and occupancy with a number of agents.\n\n"
    f"{_MODEL_HELP}\n\n{_DEFINITIONS_HELP}",
)
def erlang_command(
    calls: CallsOption,
    interval_minutes: IntervalOption,
    aht_s: AhtOption,
    agents: Annotated[
        int, typer.Option("--agents", metavar="K", help="Agents answering.", show_default=False)
    ],
    answer_within_s: WithinOption,
    patience_s: PatienceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Service level, ASA, P(wait), P(abandon) and occupancy with a number of agents."""
    traffic = _traffic(calls, interval_minutes, aht_s, answer_within_s, patience_s)
    try:
        result = performance(traffic, agents)
    except StandbyError as exc:
        raise fail(_as_options(str(exc))) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    out.print(_performance_table(result, f"{calls:g} calls in {interval_minutes:g} minutes"))


@app.command(
    "staff",
    short_help="The fewest agents that meet a service-level target, and what they achieve.",
    help="The fewest agents that meet a service-level target, and what they achieve.\n\n"
    f"{_MODEL_HELP} The target is for the first service-level definition below; --max-occupancy"
    f" and --max-abandon add limits.\n\n{_DEFINITIONS_HELP}",
)
def staff_command(
    calls: CallsOption,
    interval_minutes: IntervalOption,
    aht_s: AhtOption,
    answer_within_s: WithinOption,
    target: Annotated[
        float,
        typer.Option(
            "--target", metavar="SHARE", help="Service level to reach, above 0 and at most 1, such as 0.8.",
            show_default=False,
        ),
    ],
    max_occupancy: Annotated[
        float | None,
        typer.Option("--max-occupancy", metavar="SHARE", help="Highest acceptable occupancy, such as 0.85."),
    ] = None,
    max_abandon: Annotated[
        float | None,
        typer.Option(
            "--max-abandon", metavar="SHARE",
            help="Highest acceptable share of callers who hang up, such as 0.05 (Erlang A only).",
        ),
    ] = None,
    patience_s: PatienceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The fewest agents that meet a service-level target, and what they achieve."""
    traffic = _traffic(calls, interval_minutes, aht_s, answer_within_s, patience_s)
    try:
        plan = staff_for(traffic, target=target, max_occupancy=max_occupancy, max_abandon=max_abandon)
    except StandbyError as exc:
        raise fail(_as_options(str(exc))) from None
    if as_json:
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2) + "\n")
        return
    goals = [f"service level {target * 100:g}%"]
    if max_occupancy is not None:
        goals.append(f"occupancy at most {max_occupancy * 100:g}%")
    if max_abandon is not None:
        goals.append(f"abandonment at most {max_abandon * 100:g}%")
    out.print(_performance_table(plan.performance, f"{calls:g} calls in {interval_minutes:g} minutes"))
    why = ", ".join(plan.limited_by) or "nothing: one agent meets every goal"
    why = why.replace("stability", "stability (callers would wait forever under Erlang C)")
    out.print(
        f"{plan.agents:,} agents are the fewest that meet {', '.join(goals)}."
        f" With one fewer, it misses: {why}.",
        markup=False,
        soft_wrap=True,
    )


@app.command()
def schema(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the field reference as Markdown instead.")
    ] = False,
) -> None:
    """Print the plan's JSON Schema, for editors that check YAML as it is typed."""
    if markdown:
        sys.stdout.write(field_reference_markdown())
        return
    sys.stdout.write(json.dumps(plan_json_schema(), indent=2) + "\n")


db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
token_app = typer.Typer(help="API tokens for scripts and integrations.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@contextmanager
def open_engine() -> Iterator[tuple[Settings, Engine]]:
    """Settings from STANDBY_* and an engine on their database; any StandbyError becomes exit 2."""
    try:
        settings = Settings.from_env()
        engine = make_engine(settings.database_url)
    except StandbyError as exc:
        raise fail(str(exc)) from None
    try:
        yield settings, engine
    except StandbyError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()


@contextmanager
def open_store() -> Iterator[sessionmaker[Session]]:
    """A session factory on the migrated database; any StandbyError becomes exit 2."""
    with open_engine() as (_, engine):
        upgrade(engine)
        yield make_session_factory(engine)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (STANDBY_DATABASE_URL) to the newest revision."""
    with open_engine() as (settings, engine):
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    where = mask_password(settings.database_url)
    if before == after:
        out.print(f"{where}: already at revision {after}", markup=False, soft_wrap=True)
    else:
        out.print(
            f"{where}: upgraded from {before or 'an empty database'} to revision {after}",
            markup=False,
            soft_wrap=True,
        )


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(r.value for r in Role)}.")],
    name: Annotated[str, typer.Option(help="A unique name, such as alertmanager or ci.")],
) -> None:
    """Make an API token; the token alone goes to stdout, once: it is stored hashed."""
    with open_store() as factory, unit_of_work(factory) as session:
        token = create_token(session, name=name, role=role, now=SystemClock().now())
    typer.echo(token)
    err.print(
        f"Token {name.strip()!r} ({parse_role(role).value}) created. Copy it now: it is"
        " stored hashed and cannot be shown again. Use it as: Authorization: Bearer TOKEN",
        markup=False,
        soft_wrap=True,
    )


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List API tokens (names, roles and first characters; never the tokens)."""
    with open_store() as factory, unit_of_work(factory) as session:
        tokens = list_tokens(session)
    if as_json:
        rows = [
            {
                "name": t.name,
                "role": t.role.value,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in tokens
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not tokens:
        out.print("No API tokens. Make one with: standby token create --role ROLE --name NAME")
        return
    table = Table("name", "role", "prefix", "created", "last used", "state", box=None)
    for t in tokens:
        table.add_row(
            t.name,
            t.role.value,
            t.prefix + "...",
            _minute(t.created_at),
            _minute(t.last_used_at) if t.last_used_at else "never",
            "active" if t.active else f"revoked {_minute(t.revoked_at)}",
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.", show_default=False)],
) -> None:
    """Revoke an API token: it stops working at once."""
    with open_store() as factory, unit_of_work(factory) as session:
        revoke_token(session, name=name, now=SystemClock().now())
    out.print(f"Revoked token {name.strip()!r}.", markup=False)


user_app = typer.Typer(help="People who log in to the web app.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _new_password() -> str:
    """A password typed twice without echo, or STANDBY_NEW_PASSWORD for scripts."""
    from_env = os.environ.get("STANDBY_NEW_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise fail("no terminal to type a password: set STANDBY_NEW_PASSWORD")
    typed: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    return typed


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Lower-case login name.", show_default=False)],
    role: Annotated[str, typer.Option("--role", help="admin, manager, responder, agent or viewer.")],
) -> None:
    """Create a user; the password is typed twice (or taken from STANDBY_NEW_PASSWORD)."""
    password = _new_password()
    with open_store() as factory, unit_of_work(factory) as session:
        create_user(session, username=username, password=password, role=role, now=SystemClock().now())
    out.print(f"Created user {username.strip().lower()!r} ({role}).", markup=False)


@user_app.command("set-password")
def user_set_password(
    username: Annotated[str, typer.Argument(help="The user's login name.", show_default=False)],
) -> None:
    """Set a user's password, such as a lost admin password (typed twice, or STANDBY_NEW_PASSWORD)."""
    password = _new_password()
    with open_store() as factory, unit_of_work(factory) as session:
        set_password(session, username=username, password=password)
    out.print(f"New password set for {username.strip().lower()!r}.", markup=False)


@user_app.command("list")
def user_list() -> None:
    """Every user with their role and whether they are disabled."""
    with open_store() as factory, unit_of_work(factory) as session:
        users = list_users(session)
    table = Table("user", "role", "created", "disabled")
    for user in users:
        table.add_row(
            user.username,
            user.role.value,
            f"{user.created_at:%Y-%m-%d %H:%M}",
            "yes" if user.disabled else "",
        )
    out.print(table)


@app.command()
def serve(
    plan_option: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="The plan to load (YAML).",
            show_default="STANDBY_PLAN, else DATA_DIR/plan.yaml (the reference plan the first time)",
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on.", show_default="STANDBY_HOST or 127.0.0.1")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on.", show_default="STANDBY_PORT or 8080"),
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Serve only the web app, for several servers behind a load balancer. The worker"
            " (probes, notifications) arrives in a later release; until then this changes nothing.",
        ),
    ] = False,
) -> None:
    """Run the web app (API and pages): migrate, load the plan, make sure an admin exists, serve."""
    # Imported here: the web stack is needed by this command only, and `standby check` stays quick.
    import dataclasses

    import uvicorn

    from standby.access.service import ADMIN_USERNAME, ensure_admin
    from standby.config import ensure_secret_key
    from standby.plan.versions import record_plan
    from standby.plan.watch import PlanFileWatch
    from standby.web.app import create_app

    try:
        settings = Settings.from_env()
    except StandbyError as exc:
        raise fail(str(exc)) from None
    path = plan_option or settings.plan_path or settings.data_dir / "plan.yaml"
    if plan_option is None and settings.plan_path is None and not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(reference_plan_text(), encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write the starter plan {path}: {exc.strerror}") from None
        out.print(
            f"No plan given: wrote the reference plan to {path}. Edit it for your centre"
            " (Standby loads each saved change), or pass --plan PLAN.",
            markup=False,
            soft_wrap=True,
        )
    plan = read_plan(path)  # every problem as PLAN:LINE:COLUMN, then exit 2
    source = path.read_bytes().decode("utf-8-sig")  # read_plan accepted it, so it decodes
    settings = dataclasses.replace(
        settings, plan_path=path, host=host or settings.host, port=port or settings.port
    )
    clock = SystemClock()
    try:
        settings = ensure_secret_key(settings)
        engine = make_engine(settings.database_url)
    except StandbyError as exc:
        raise fail(str(exc)) from None
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            version = record_plan(
                session, plan=plan, source=source, now=clock.now(), loaded_by="standby serve"
            )
            password = ensure_admin(session, password=settings.admin_password, now=clock.now())
        watch = PlanFileWatch(path, factory, clock)
        watch.look()
        state = "a new version" if version.created else "unchanged since it was last loaded"
        out.print(
            f"Plan {path}: {plan.organisation.name}, version {version.id} ({state}).",
            markup=False,
            soft_wrap=True,
        )
        out.print(f"Database: {mask_password(settings.database_url)}", markup=False, soft_wrap=True)
        if password is not None and settings.admin_password is None:
            out.print(
                f"\n  Log in as {ADMIN_USERNAME} with password {password}\n"
                "  (shown only this once: it is stored hashed; set STANDBY_ADMIN_PASSWORD to"
                " choose it yourself)\n",
                markup=False,
                soft_wrap=True,
            )
        elif password is not None:
            out.print(
                f"Created user {ADMIN_USERNAME} with the password in STANDBY_ADMIN_PASSWORD.",
                markup=False,
            )
        else:
            out.print(
                f"User {ADMIN_USERNAME} exists: use the password printed on the first start"
                f" (lost it? standby user set-password {ADMIN_USERNAME}).",
                markup=False,
                soft_wrap=True,
            )
        listen = dataclasses.replace(settings, public_url=None).base_url
        out.print(
            f"Open {listen}/ and log in as {ADMIN_USERNAME}; scripts use"
            " 'Authorization: Bearer TOKEN' (standby token create). Ctrl+C stops the server.",
            markup=False,
            soft_wrap=True,
        )
        if no_worker:
            out.print("--no-worker: no worker runs here (none exists yet: nothing else changes).")
        web = create_app(settings, clock=clock, session_factory=factory, plan_watch=watch)
        uvicorn.run(web, host=settings.host, port=settings.port, log_level="info")
    except StandbyError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()


def _minute(when: datetime | None) -> str:
    return "" if when is None else when.strftime("%Y-%m-%d %H:%M UTC")


def main() -> None:
    """Entry point of the `standby` console script."""
    try:
        app()
    except StandbyError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
