"""Telling 10,000 status page subscribers: from the notice to the last of 10,000 messages delivered.

For each database (a scratch SQLite file; a scratch PostgreSQL database on 127.0.0.1:5432):

1. the reference plan is loaded and the status board renders once (the plan's planned
   maintenance is claimed then, before anyone subscribes, so only the notice is told);
2. 10,000 confirmed subscribers are stored (half email, half SMS; none limited to services);
3. the clock starts: an incident is declared and the communications lead's public update
   posted; the app's status board refreshes (it renders the page and fans the notice out to
   the outbox, one message per subscriber, in one transaction); one `NotifySender` with the
   real channels (SMTP over kept connections, HTTP with keep-alive) sends them to the local
   receivers of benchmarks/_notify_receivers.py (aiosmtpd and a minimal SMS gateway, in a
   process of their own), which count receipts by idempotency key;
4. figures: seconds from the notice to the fan-out's commit, to the last delivery, and until
   every message is recorded `sent`; duplicates; messages per second.

The bar (issue 15): all 10,000 delivered in under 10 s.

    .venv/bin/python benchmarks/status_subscribers.py [--subscribers 10000] [--db sqlite,postgresql] \
        [--postgres URL] [--quick] [--json]

`--quick` keeps the 10,000 (the bar is for them) and runs PostgreSQL only when --postgres is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import sys
import time
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from _ratios import figure, print_json
from _scratch import SHOWN, add_database_options, chosen_databases, scratch_url
from notify_fanout import Receivers, all_sent, delivered, make_channels, tally
from standby.clock import SystemClock
from standby.config import Settings
from standby.notify.sender import NotifySender, SenderOptions
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import current_plan, record_plan
from standby.respond.incident_service import declare
from standby.status.updates_service import post_public_update
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade
from standby.store.tables import StatusSubscriberRow
from standby.web.app import create_app

BAR_S = 10.0


def subscribers(count: int, now: datetime) -> list[dict[str, Any]]:
    """Confirmed subscribers, half by email and half by SMS."""
    rows = []
    for i in range(count):
        email = i % 2 == 0
        rows.append(
            {
                "channel": "email" if email else "sms",
                "address": f"reader{i}@example.org" if email else f"+4477009{i:05d}",
                "state": "confirmed",
                "services": [],
                "secret": None,
                "token": secrets.token_urlsafe(24),
                "confirm_nonce": None,
                "confirm_sent_at": now,
                "requested_services": [],
                "requested_secret": None,
                "created_at": now,
                "confirmed_at": now,
                "unsubscribed_at": None,
                "updated_at": now,
            }
        )
    return rows


async def tell(url: str, receivers: Receivers, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = SystemClock()
    settings = Settings(database_url=url, public_url="https://status.example.org")
    board = create_app(settings, clock=clock, session_factory=factory).state.status_board
    text = reference_plan_text()
    with unit_of_work(factory) as session:
        record_plan(session, plan=load_plan_text(text), source=text, now=clock.now(), loaded_by="bench")
    await asyncio.to_thread(board.refresh)  # the planned maintenance, told to nobody yet
    with unit_of_work(factory) as session:
        session.execute(insert(StatusSubscriberRow), subscribers(args.subscribers, clock.now()))
    channels = make_channels(receivers, args.smtp_connections)
    sender = NotifySender(
        session_factory=factory,
        clock=clock,
        channels=channels,
        options=SenderOptions(concurrency=args.concurrency, batch=args.batch, poll_s=0.1),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    started = time.time()
    with unit_of_work(factory) as session:
        found = current_plan(session)
        assert found is not None
        incident = declare(
            session, title="Billing line down", classification="partial", plan=found[1], by="bench",
            now=clock.now(), queues=["billing"],
        )
        post_public_update(
            session, incident_id=incident.id, status="investigating", by="bench", now=clock.now(),
            text="Calls to our billing line are not being answered. We are working on it.",
        )
    await asyncio.to_thread(board.refresh)
    fanned_out = time.time()
    recorded_at = await all_sent(
        receivers, factory, args.subscribers, deadline=started + args.timeout, incident_id=incident.id,
        every_s=0.1,
    )
    stop.set()
    await running
    await channels.aclose()
    engine.dispose()
    stats, last, duplicates = tally(receivers)
    return {
        "subscribers": args.subscribers,
        "delivered": delivered(stats),
        "duplicates": duplicates,
        "seconds_to_fan_out": round(fanned_out - started, 3),
        "seconds_to_last_delivery": round(last - started, 3) if last else None,
        "seconds_until_all_recorded_sent": round(recorded_at - started, 3) if recorded_at else None,
        "messages_per_second": round(delivered(stats) / (last - started)) if last > started else 0,
        "under_bar": bool(last and last - started < BAR_S and delivered(stats) == args.subscribers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    add_database_options(parser)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--smtp-connections", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--quick", action="store_true", help="PostgreSQL only with --postgres")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    databases, skipped = chosen_databases(parser, args)
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {}
    receivers = Receivers()
    try:
        for kind, server in databases.items():
            receivers.reset()
            with scratch_url(server) as url:
                migrating = make_engine(url)
                upgrade(migrating)
                migrating.dispose()
                results[kind] = asyncio.run(tell(url, receivers, args))
            if not args.json:
                print(kind, json.dumps(results[kind]), flush=True)
    finally:
        receivers.close()
    if args.json:
        print_json(ratios(results, args), skipped, **results)
    for reason in skipped:
        print(f"skipped: {reason}", file=sys.stderr)


def ratios(results: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per database: seconds from the notice to the last delivery (the bar), and the share delivered."""
    found = []
    for kind, result in results.items():
        last = result["seconds_to_last_delivery"]
        found += [
            # Never delivered counts as the whole wait: the bar is missed, not the run.
            figure(f"{SHOWN[kind]}: notice to the last of {args.subscribers:,} delivered",
                   last if last is not None else args.timeout, BAR_S, "s", "lower"),
            figure(f"{SHOWN[kind]}: delivered", 100.0 * result["delivered"] / args.subscribers, 100.0, "%",
                   "higher"),
        ]
    return found


if __name__ == "__main__":
    main()
