"""`standby db`, `token` and `user`: the database, API tokens and the people who log in."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from standby.access.roles import Role, parse_role
from standby.cli.common import app, err, fail, out
from standby.clock import SystemClock
from standby.errors import StandbyError

# The database, its services and the tables are imported by the commands that use them, so
# that every command (and --help) starts without loading SQLAlchemy.
if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from standby.config import Settings

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
token_app = typer.Typer(help="API tokens for scripts and integrations.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@contextmanager
def open_engine() -> Iterator[tuple[Settings, Engine]]:
    """Settings from STANDBY_* and an engine on their database; any StandbyError becomes exit 2."""
    from standby.config import Settings
    from standby.store.engine import make_engine

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
    from standby.store.engine import make_session_factory
    from standby.store.migrations import upgrade

    with open_engine() as (_, engine):
        upgrade(engine)
        yield make_session_factory(engine)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (STANDBY_DATABASE_URL) to the newest revision."""
    from standby.store.engine import mask_password
    from standby.store.migrations import current_revision, upgrade

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
    from standby.access.service import create_token
    from standby.store.engine import unit_of_work

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
    from rich.table import Table

    from standby.access.service import list_tokens
    from standby.store.engine import unit_of_work

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
    from standby.access.service import revoke_token
    from standby.store.engine import unit_of_work

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
    from standby.access.service import create_user
    from standby.store.engine import unit_of_work

    password = _new_password()
    with open_store() as factory, unit_of_work(factory) as session:
        create_user(session, username=username, password=password, role=role, now=SystemClock().now())
    out.print(f"Created user {username.strip().lower()!r} ({role}).", markup=False)


@user_app.command("set-password")
def user_set_password(
    username: Annotated[str, typer.Argument(help="The user's login name.", show_default=False)],
) -> None:
    """Set a user's password, such as a lost admin password (typed twice, or STANDBY_NEW_PASSWORD)."""
    from standby.access.service import set_password
    from standby.store.engine import unit_of_work

    password = _new_password()
    with open_store() as factory, unit_of_work(factory) as session:
        set_password(session, username=username, password=password)
    out.print(f"New password set for {username.strip().lower()!r}.", markup=False)


@user_app.command("unlock")
def user_unlock(
    username: Annotated[
        str | None, typer.Argument(help="The login name locked out.", show_default=False)
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="A client IP address locked out.", show_default=False)
    ] = None,
) -> None:
    """Lift a login lockout (too many failed logins) of a user and/or a client address."""
    from standby.access.lockout_service import lift_lockout
    from standby.store.engine import unit_of_work

    if not username and not address:
        raise fail("name the user to unlock, or give --address IP")
    with open_store() as factory, unit_of_work(factory) as session:
        lifted = lift_lockout(session, account=username, address=address, by="cli")
    what = " and ".join(
        part
        for part in (
            f"user {username.strip().lower()!r}" if username else "",
            f"address {address.strip()}" if address else "",
        )
        if part
    )
    if lifted:
        out.print(f"Unlocked {what}: logins are open again.", markup=False)
    else:
        out.print(f"Nothing held against {what}: it was not locked.", markup=False)


@user_app.command("list")
def user_list() -> None:
    """Every user with their role and whether they are disabled."""
    from rich.table import Table

    from standby.access.service import list_users
    from standby.store.engine import unit_of_work

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


def _minute(when: datetime | None) -> str:
    return "" if when is None else when.strftime("%Y-%m-%d %H:%M UTC")
