"""Fan-out through the outbox: 10,000 SMS and 10,000 emails to local receivers, SQLite and PostgreSQL.

For each database (a scratch SQLite file; a scratch PostgreSQL database on 127.0.0.1:5432,
created and dropped here):

1. the messages are put in the outbox (`enqueue_many`, 2,000 a transaction: timed apart);
2. one `NotifySender` with the real channels (SMTP over kept connections, HTTP with
   keep-alive) claims, sends and records them, while the receivers, in a process of their
   own (benchmarks/_notify_receivers.py: aiosmtpd and a minimal HTTP gateway) count every
   receipt by idempotency key;
3. figures: messages per second (all messages over the time from the sender's start to the
   last delivery), time to the last delivery, time until every message is recorded `sent`,
   duplicates (receipts beyond one per key at a receiver that does not drop repeats), and
   the sender process's CPU seconds.

The floor beside it: the same channels sending the same messages straight from memory, with
no database and no outbox, the same concurrency: what the outbox's durability costs.

    .venv/bin/python benchmarks/notify_fanout.py [--sms 10000] [--emails 10000] \
        [--db sqlite,postgresql] [--postgres URL] [--quick] [--json]

PostgreSQL: --postgres URL, else STANDBY_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres, trust authentication): it must allow CREATE
DATABASE. The target: at least 1,000 messages a second, every one delivered, no
duplicate, on both databases. `--quick`: 2,500 SMS and 2,500 emails, no floor, PostgreSQL only
with --postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from _ratios import figure, print_json
from _scratch import SHOWN, add_database_options, chosen_databases, scratch_url
from standby.clock import SystemClock
from standby.notify import outbox, outbox_desk
from standby.notify.channels.email import EmailChannel
from standby.notify.channels.protocol import OutgoingMessage
from standby.notify.channels.sms import SmsChannel
from standby.notify.outbox import NewMessage
from standby.notify.sender import Channels, NotifySender, SenderOptions
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade

HERE = Path(__file__).resolve().parent
TARGET_PER_SECOND = 1000.0


class Receivers:
    """The receivers' process: ports, stats, reset; it ends when we close its input."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "_notify_receivers.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ports = json.loads(self.process.stdout.readline())
        self.smtp_port, self.http_port = ports["smtp"], ports["http"]

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def messages(sms: int, emails: int) -> list[NewMessage]:
    found = [
        NewMessage(
            key=f"bench:sms:{i}",
            channel="sms",
            recipient=f"+4477009{i:05d}",
            body=f"Your callback moved to 14:{i % 60:02d}: the line is down. Reply STOP to opt out.",
            purpose="callback",
        )
        for i in range(sms)
    ]
    found += [
        NewMessage(
            key=f"bench:email:{i}",
            channel="email",
            recipient=f"agent{i}@example.org",
            recipient_name=f"Agent {i}",
            subject="Partial outage: CRM down",
            body="The CRM is down since 09:30. Log outcomes in Standby.\n" * 5,
            purpose="update",
        )
        for i in range(emails)
    ]
    return found


def make_channels(receivers: Receivers, smtp_connections: int) -> Channels:
    return Channels(
        {
            "sms": SmsChannel(
                url=f"http://AC1:token@127.0.0.1:{receivers.http_port}/2010-04-01/Accounts/AC1/Messages.json",
                sender="+15550001111",
                max_connections=16,
            ),
            "email": EmailChannel(
                url=f"smtp://127.0.0.1:{receivers.smtp_port}",
                sender="Standby <standby@example.org>",
                connections=smtp_connections,
                local_hostname="standby.bench",
            ),
        }
    )


def delivered(stats: dict[str, Any]) -> int:
    return int(stats["sms"]["distinct"] + stats["email"]["distinct"])


async def all_sent(
    receivers: Receivers,
    factory: sessionmaker[Session],
    total: int,
    *,
    deadline: float,
    incident_id: int | None = None,
    every_s: float = 0.25,
) -> float | None:
    """Wait until the receivers have `total` and the outbox records them sent; when (None: the deadline)."""
    while time.time() < deadline:
        await asyncio.sleep(every_s)
        if delivered(await asyncio.to_thread(receivers.stats)) < total:
            continue

        def counts() -> dict[str, int]:
            with unit_of_work(factory) as session:
                return outbox_desk.count_by_state(session, incident_id=incident_id)

        if (await asyncio.to_thread(counts))["sent"] >= total:
            return time.time()
    return None


def tally(receivers: Receivers) -> tuple[dict[str, Any], float, int]:
    """The receivers' stats, when the last message came (Unix time), and the duplicates."""
    stats = receivers.stats()
    last = max(stats["sms"]["last_at"] or 0, stats["email"]["last_at"] or 0)
    receipts = stats["sms"]["receipts"] + stats["email"]["receipts"]
    return stats, last, receipts - delivered(stats)


async def fan_out(url: str, receivers: Receivers, args: argparse.Namespace, total: int) -> dict[str, Any]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    channels = make_channels(receivers, args.smtp_connections)
    sender = NotifySender(
        session_factory=factory,
        clock=SystemClock(),
        channels=channels,
        options=SenderOptions(concurrency=args.concurrency, batch=args.batch, poll_s=0.2),
    )
    stop = asyncio.Event()
    started = time.time()
    cpu_before = time.process_time()
    task = asyncio.create_task(sender.run(stop))
    recorded_at = await all_sent(receivers, factory, total, deadline=started + args.timeout)
    cpu = time.process_time() - cpu_before
    stop.set()
    await task
    await channels.aclose()
    engine.dispose()
    stats, last, duplicates = tally(receivers)
    return {
        "delivered": delivered(stats),
        "duplicates": duplicates,
        "seconds_to_last_delivery": round(last - started, 3),
        "messages_per_second": round(total / (last - started)) if last > started else 0,
        "seconds_until_all_recorded_sent": round(recorded_at - started, 3) if recorded_at else None,
        "sms_last_s": round((stats["sms"]["last_at"] or started) - started, 3),
        "email_last_s": round((stats["email"]["last_at"] or started) - started, 3),
        "sender_cpu_s": round(cpu, 2),
        "flushes": sender.stats.flushes,
        "database_errors": sender.stats.database_errors,
    }


async def direct(receivers: Receivers, args: argparse.Namespace, batch: list[NewMessage]) -> dict[str, Any]:
    """The floor: the same channels, the same concurrency, no database."""
    channels = make_channels(receivers, args.smtp_connections)
    slots = asyncio.Semaphore(args.concurrency)

    async def one(i: int, m: NewMessage) -> None:
        async with slots:
            outgoing = OutgoingMessage(
                id=i,
                key=m.key,
                channel=m.channel,
                recipient=m.recipient,
                body=m.body,
                subject=m.subject,
                recipient_name=m.recipient_name,
                purpose=m.purpose,
            )
            await channels.available[m.channel].send(outgoing)

    started = time.time()
    cpu_before = time.process_time()
    await asyncio.gather(*(one(i, m) for i, m in enumerate(batch)))
    cpu = time.process_time() - cpu_before
    await channels.aclose()
    stats = receivers.stats()
    last = max(stats["sms"]["last_at"] or 0, stats["email"]["last_at"] or 0)
    receipts = stats["sms"]["receipts"] + stats["email"]["receipts"]
    return {
        "delivered": delivered(stats),
        "duplicates": receipts - delivered(stats),
        "seconds_to_last_delivery": round(last - started, 3),
        "messages_per_second": round(len(batch) / (last - started)),
        "sender_cpu_s": round(cpu, 2),
    }


def run(
    server: str | None, receivers: Receivers, args: argparse.Namespace, batch: list[NewMessage],
) -> dict[str, Any]:
    """Enqueue the messages on a scratch database (SQLite when `server` is None) and fan them out."""
    with scratch_url(server) as url:
        engine = make_engine(url)
        upgrade(engine)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        now = datetime.now(UTC)
        for at in range(0, len(batch), 2000):
            with unit_of_work(factory) as session:
                outbox.enqueue_many(session, batch[at : at + 2000], now=now)
        enqueue_s = time.perf_counter() - started
        engine.dispose()
        receivers.reset()
        receiver_cpu = receivers.cpu_seconds()
        result = asyncio.run(fan_out(url, receivers, args, len(batch)))
        result["receivers_cpu_s"] = round(receivers.cpu_seconds() - receiver_cpu, 2)
        result["enqueue_s"] = round(enqueue_s, 2)
        result["enqueue_per_second"] = round(len(batch) / enqueue_s)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sms", type=int, default=10_000)
    parser.add_argument("--emails", type=int, default=10_000)
    add_database_options(parser)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--smtp-connections", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--no-floor", action="store_true", help="skip the no-database floor")
    parser.add_argument("--quick", action="store_true", help="2,500 SMS and 2,500 emails, no floor")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    if args.quick:
        # The floor has no target: the short form leaves it out.
        args.sms, args.emails, args.no_floor = min(args.sms, 2500), min(args.emails, 2500), True
    databases, skipped = chosen_databases(parser, args)
    logging.basicConfig(level=logging.WARNING)
    batch = messages(args.sms, args.emails)
    results: dict[str, Any] = {"messages": len(batch)}
    receivers = Receivers()
    try:
        for kind, server in databases.items():
            results[kind] = run(server, receivers, args, batch)
            if not args.json:
                print(kind, json.dumps(results[kind]), flush=True)
        if not args.no_floor:
            receivers.reset()
            results["floor"] = asyncio.run(direct(receivers, args, batch))
            if not args.json:
                print("floor (no database)", json.dumps(results["floor"]), flush=True)
    finally:
        receivers.close()
    if args.json:
        print_json(ratios(results, databases), skipped, **results)
    for reason in skipped:
        print(f"skipped: {reason}", file=sys.stderr)


def ratios(results: dict[str, Any], databases: dict[str, str | None]) -> list[dict[str, Any]]:
    """Per database: messages a second, the share delivered and the duplicates, against the target."""
    found = []
    for kind in databases:
        result, name = results[kind], SHOWN[kind]
        found += [
            figure(f"{name}: messages a second", result["messages_per_second"], TARGET_PER_SECOND, "/s",
                   "higher"),
            figure(f"{name}: delivered", 100.0 * result["delivered"] / results["messages"], 100.0, "%",
                   "higher"),
            figure(f"{name}: duplicates", result["duplicates"], 0.0, "", "lower"),
        ]
    return found


if __name__ == "__main__":
    main()
