"""A sender killed mid-send (SIGKILL), then another started: every message arrives, and none twice
at a receiver that honours the idempotency key, on SQLite and on PostgreSQL.

What exactly-once means here. A message is marked `sending` under a claim before it goes out
and `sent` right after the receiver answers. A sender killed between the two leaves messages
`sending`; when their claim runs out the next sender sends them again, with the same
`Idempotency-Key`. The receiver below takes each message when it arrives and answers 30 ms
later (a slow gateway), so messages in flight at the kill did reach it: it sees those keys
twice (the raw repeats, printed), and a receiver that honours the key, as this one does like
Twilio- or Stripe-style gateways, delivers each message once. Nothing recorded `sent` before
the kill is sent again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _receivers import HttpReceiver, Reply, Request
from sqlalchemy import select

from standby.notify import outbox
from standby.notify.outbox import NewMessage
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow

pytestmark = pytest.mark.anyio

MESSAGES = 300
SCRIPT = Path(__file__).with_name("_notify_sender.py")


def start_sender(db_url: str, sms_url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(SCRIPT), db_url, sms_url, "16", "1.0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )


def states(factory) -> dict[str, str]:
    with unit_of_work(factory) as session:
        return {
            key: state for key, state in session.execute(select(MessageRow.idempotency_key, MessageRow.state))
        }


async def wait_for(condition, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(condition):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_killed_sender_loses_nothing_and_doubles_nothing(db_url, session_factory, tmp_path, capsys):
    keys = [f"crash-{i:03d}" for i in range(MESSAGES)]
    with unit_of_work(session_factory) as session:
        outbox.enqueue_many(
            session,
            [
                NewMessage(
                    key=k, channel="sms", recipient="+447700900123", body=f"message {k}", purpose="page"
                )
                for k in keys
            ],
            now=datetime.now(UTC),
        )

    async def slow_gateway(request: Request) -> Reply:
        return Reply(201, b'{"sid": "SM1"}', {"Content-Type": "application/json"}, delay_s=0.03)

    log = tmp_path / "senders.log"
    async with HttpReceiver(slow_gateway) as gateway:
        first = start_sender(db_url, f"{gateway.url}/sms", log)
        try:
            await wait_for(lambda: len(gateway.deliveries) >= MESSAGES // 3, 30, "the first deliveries")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(10)
        at_kill = states(session_factory)
        in_flight = {k for k, state in at_kill.items() if state == "sending"}
        sent_before = {k for k, state in at_kill.items() if state == "sent"}
        second = start_sender(db_url, f"{gateway.url}/sms", log)
        try:
            await wait_for(
                lambda: set(states(session_factory).values()) == {"sent"}, 30, "every message sent"
            )
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0, log.read_text()
        finally:
            if second.poll() is None:
                second.kill()
                second.wait(10)
    assert in_flight and sent_before, "the kill did not land mid-send"
    # Every message reached the receiver, and the receiver delivered each one once.
    assert sorted(gateway.effective) == keys
    assert set(gateway.deliveries) == set(keys)
    repeated = {k for k, n in gateway.deliveries.items() if n > 1}
    # Only messages in flight at the kill came again, each at most once more, with its key;
    # nothing recorded as sent was sent again.
    assert repeated <= in_flight
    assert all(gateway.deliveries[k] == 2 for k in repeated)
    assert not repeated & sent_before
    with capsys.disabled():
        print(
            f"\n  crash test: {len(in_flight)} messages in flight at the kill,"
            f" {gateway.raw_repeats} raw repeats"
            f" (same key), {len(gateway.effective)} effective deliveries of {MESSAGES}"
        )
