"""An outage over 500 callbacks, on SQLite and PostgreSQL: every customer gets exactly one email
with their new time, through the real sender and a real SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from _receivers import SmtpReceiver
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.config import Settings
from standby.customers.outage_callbacks import CallbackPass, look_after_callbacks
from standby.notify.runner import run_sender
from standby.notify.sender import SenderOptions
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.store.engine import unit_of_work
from standby.store.tables import CallbackRow, MessageRow, OutageRow

pytestmark = pytest.mark.anyio

CUSTOMERS = 500
PLAN = load_plan_text(
    reference_plan_text().replace(
        "channels: [status_page, ivr_message, sms]", "channels: [status_page, ivr_message, email, sms]"
    )
)
ZONE = ZoneInfo(PLAN.organisation.timezone)


async def until(condition: Callable[[], object], what: str, within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.1)


def sent(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        query = select(func.count()).select_from(MessageRow).where(MessageRow.state == "sent")
        return int(session.scalar(query) or 0)


def an_outage_over_the_callbacks(factory: sessionmaker[Session]) -> None:
    """Billing and moving home lost for two hours, ended a minute ago, with 500 callbacks due in it."""
    now = SystemClock().now()
    started, ended = now - timedelta(hours=2), now - timedelta(minutes=1)
    queues = ["billing", "moving"]
    with unit_of_work(factory) as session:
        session.add(
            OutageRow(
                started_at=started,
                detected_at=started,
                ended_at=ended,
                classification="partial",
                peak_classification="partial",
                causes=["ivr"],
                components=["ivr"],
                sites=[],
                queues=queues,
                degraded_queues=[],
                history={"components": ["ivr"], "sites": [], "queues": queues},
                in_maintenance=False,
                summary="IVR down",
                updated_at=ended,
            )
        )
        rows = []
        for n in range(CUSTOMERS):
            due = started + timedelta(seconds=10 + n * 14)
            rows.append(
                {
                    "customer": f"Customer {n}",
                    "phone": f"+4477009{n:05d}",
                    "customer_key": f"+4477009{n:05d}",
                    "email": f"customer{n}@example.org",
                    "queue": queues[n % 2],
                    "vulnerable": n % 10 == 0,
                    "requested_due_at": due,
                    "due_at": due,
                    "state": "scheduled",
                    "source": "api",
                    "created_by": "test",
                    "created_at": started - timedelta(days=1),
                    "updated_at": started - timedelta(days=1),
                    "moves": 0,
                }
            )
        session.execute(insert(CallbackRow), rows)


def run_pass(factory: sessionmaker[Session]) -> CallbackPass:
    with unit_of_work(factory) as session:
        return look_after_callbacks(session, plan=PLAN, now=SystemClock().now())


def new_times(factory: sessionmaker[Session]) -> dict[str, str]:
    """Each customer's email address and the window they should have been told, in the centre's words."""
    with unit_of_work(factory) as session:
        rows = session.execute(select(CallbackRow.email, CallbackRow.due_at, CallbackRow.window_end)).all()
    told = {}
    for email, start, end in rows:
        assert email is not None and end is not None
        first, last = start.astimezone(ZONE), end.astimezone(ZONE)
        told[email] = f"between {first:%H:%M} and {last:%H:%M} on {first:%A} {first.day} {first:%B}"
    return told


async def test_every_customer_of_an_outage_gets_one_email_with_their_new_time(
    session_factory: sessionmaker[Session], tmp_path: Path
):
    an_outage_over_the_callbacks(session_factory)
    done = run_pass(session_factory)
    assert (done.flagged, done.rescheduled + done.unplaced, done.told) == (
        CUSTOMERS,
        CUSTOMERS,
        done.rescheduled,
    )
    assert done.rescheduled == CUSTOMERS  # the reference plan's teams have the time within the horizon
    async with SmtpReceiver() as smtp:
        settings = Settings(
            database_url="sqlite://",
            data_dir=tmp_path,
            smtp_url=smtp.url(),
            smtp_from="Northwind Energy <care@northwind.example>",
        )
        stop = asyncio.Event()
        sender = asyncio.create_task(
            run_sender(
                stop,
                settings=settings,
                session_factory=session_factory,
                clock=SystemClock(),
                options=SenderOptions(poll_s=0.1, concurrency=16),
            )
        )
        try:
            await until(lambda: sent(session_factory) >= CUSTOMERS, "every email sent")
            # Another pass, as every worker runs one every few seconds: nothing more to tell.
            assert run_pass(session_factory) == CallbackPass()
            await asyncio.sleep(0.5)
        finally:
            stop.set()
            await sender

    assert sent(session_factory) == CUSTOMERS
    assert len(smtp.mails) == CUSTOMERS
    assert set(smtp.ids.values()) == {1}  # every Message-ID once
    recipients = Counter(address for mail in smtp.mails for address in mail.rcpt_tos)
    expected = new_times(session_factory)
    assert recipients == Counter(expected.keys())  # each customer exactly once
    for mail in smtp.mails:
        (address,) = mail.rcpt_tos
        assert str(mail.message["Subject"]) == "Northwind Energy Customer Care: a new time for your call back"
        body = mail.message.get_body(("plain",))
        assert body is not None
        assert expected[address] in body.get_content()
