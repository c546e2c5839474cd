"""The `standby` command: a thin edge that parses, calls the plan and services, and renders.

Exit codes: 0 success; 1 the command ran and found what it reports as failing;
2 bad input or usage, with a message that says what and where.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
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
