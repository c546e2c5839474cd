"""`standby init`, `check`, `audit` and `schema`: the plan and what is wrong with it."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from standby.cli.common import EXIT_FINDINGS, PlanArg, app, fail, out, read_plan


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write plan.yaml.", show_default="current directory")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing plan.yaml.")] = False,
) -> None:
    """Write a starter plan (the reference plan) as DIR/plan.yaml."""
    from standby.plan.shipped import reference_plan_text

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
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Name everything each single point of failure takes down, not only the first ten"
            " (a long chain makes this large).",
        ),
    ] = False,
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
    from standby.plan.audit import audit as audit_plan
    from standby.plan.report import audit_json, audit_table

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
    findings = audit_plan(plan, today=as_of, full=full)
    if as_json:
        # Written as it is encoded: the whole text of a large plan's audit at once would
        # be several times its size in memory.
        for chunk in json.JSONEncoder(indent=2).iterencode(audit_json(str(plan_path), as_of, findings)):
            sys.stdout.write(chunk)
        sys.stdout.write("\n")
    else:
        out.print(audit_table(findings, title=f"Audit of {plan_path} on {as_of}"))
    if strict and any(finding.severity == "high" for finding in findings):
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def schema(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the field reference as Markdown instead.")
    ] = False,
) -> None:
    """Print the plan's JSON Schema, for editors that check YAML as it is typed."""
    from standby.plan.format_doc import field_reference_markdown
    from standby.plan.loading import plan_json_schema

    if markdown:
        sys.stdout.write(field_reference_markdown())
        return
    sys.stdout.write(json.dumps(plan_json_schema(), indent=2) + "\n")
