"""The `standby` command: a thin edge that parses, calls the plan and services, and renders.

Exit codes: 0 success; 1 the command ran and found what it reports as failing;
2 bad input or usage, with a message that says what and where.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from standby.errors import PlanInvalid, StandbyError
from standby.plan.audit import audit as audit_plan
from standby.plan.format_doc import field_reference_markdown
from standby.plan.loading import load_plan_file, plan_json_schema, reference_plan_text
from standby.plan.report import audit_json, audit_table
from standby.plan.schema import Plan

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


def main() -> None:
    """Entry point of the `standby` console script."""
    try:
        app()
    except StandbyError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
