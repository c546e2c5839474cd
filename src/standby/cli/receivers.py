"""`standby receiver`: the tokens that Alertmanager, Events v2 senders and the platform post with."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer

from standby.cli.access import open_store
from standby.cli.common import app, err, out
from standby.clock import SystemClock

receiver_app = typer.Typer(
    help="Receiver tokens: what alert sources, heartbeats and metrics post with.", no_args_is_help=True
)
app.add_typer(receiver_app, name="receiver")


@receiver_app.command("create")
def receiver_create(
    name: Annotated[str, typer.Argument(help="A unique name, such as alertmanager.", show_default=False)],
) -> None:
    """Make a receiver token; the token alone goes to stdout, once: it is stored hashed."""
    from standby.detect.receiver_tokens import create_receiver_token
    from standby.store.engine import unit_of_work

    with open_store() as factory, unit_of_work(factory) as session:
        info, token = create_receiver_token(session, name=name, now=SystemClock().now())
    typer.echo(token)
    err.print(
        f"Receiver token {info.name!r} created. Copy it now: it is stored hashed and cannot be"
        " shown again. Senders use it as 'Authorization: Bearer TOKEN' (Alertmanager:"
        " http_config.authorization.credentials), or as the routing_key of an Events v2 event."
        " It may only post alerts, heartbeats and metrics.",
        markup=False,
        soft_wrap=True,
    )


@receiver_app.command("list")
def receiver_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List receiver tokens (names and first characters; never the tokens)."""
    from rich.table import Table

    from standby.detect.receiver_tokens import list_receiver_tokens
    from standby.store.engine import unit_of_work

    with open_store() as factory, unit_of_work(factory) as session:
        tokens = list_receiver_tokens(session)
    if as_json:
        rows = [
            {
                "name": t.name,
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
        out.print("No receiver tokens. Make one with: standby receiver create NAME")
        return
    table = Table("name", "prefix", "created", "last used", "state", box=None)
    for t in tokens:
        table.add_row(
            t.name,
            t.prefix + "...",
            _minute(t.created_at),
            _minute(t.last_used_at) if t.last_used_at else "never",
            "active" if t.active else f"revoked {_minute(t.revoked_at)}",
        )
    out.print(table)


@receiver_app.command("revoke")
def receiver_revoke(
    name: Annotated[str, typer.Argument(help="The receiver token's name.", show_default=False)],
) -> None:
    """Revoke a receiver token: it stops working at once, on every server."""
    from standby.detect.receiver_tokens import revoke_receiver_token
    from standby.store.engine import unit_of_work

    with open_store() as factory, unit_of_work(factory) as session:
        revoke_receiver_token(session, name=name, now=SystemClock().now())
    out.print(f"Revoked receiver token {name.strip()!r}.", markup=False)


def _minute(when: datetime | None) -> str:
    return "" if when is None else when.strftime("%Y-%m-%d %H:%M UTC")
