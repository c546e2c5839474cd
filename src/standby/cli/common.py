"""What every command shares: the Typer app, the consoles, and how errors and plans are read.

Exit codes: 0 success; 1 the command ran and found what it reports as failing;
2 bad input or usage, with a message that says what and where.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from standby.errors import PlanInvalid, StandbyError

if TYPE_CHECKING:  # the plan's schema takes a while to import: only commands that read a plan pay it
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
    from standby.plan.loading import load_plan_file

    try:
        return load_plan_file(path)
    except PlanInvalid as invalid:
        for problem in invalid.problems:
            err.print(problem.render(str(path)), markup=False, soft_wrap=True)
        err.print(f"{len(invalid.problems)} problem(s) found in {path}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def main() -> None:
    """Entry point of the `standby` console script."""
    try:
        app()
    except StandbyError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
