"""Shared pieces of the subscription tests: signing up through the page, and the real sender run."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from _web import Web, make_web
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from test_deadlines_delivery import until

from standby.config import Settings
from standby.notify.runner import run_sender
from standby.notify.sender import SenderOptions
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow

SECRET_KEY = "k" * 40
PUBLIC = "http://testserver"
SAME_ORIGIN = {"Origin": PUBLIC}
LINK = re.compile(r"(http://testserver/status/(?:subscriptions/confirm|unsubscribe)/[A-Za-z0-9_.-]+)")


def subscriber_web(factory: sessionmaker[Session], tmp_path: Path, **settings: object) -> Web:
    """The app with a secret key and its public address, as `standby serve` has them."""
    return make_web(factory, tmp_path, secret_key=SECRET_KEY, public_url=PUBLIC, **settings)


async def sign_up(web: Web, client_ip: str = "192.0.2.1", **form: str | list[str]) -> httpx.Response:
    """POST the page's form from `client_ip`."""
    transport = httpx.ASGITransport(app=web.app, client=(client_ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
        return await client.post("/status/subscribe", data=form, headers=SAME_ORIGIN)


def pending(web: Web, purpose_prefix: str = "status") -> int:
    """Status messages not yet sent or parked."""
    with unit_of_work(web.factory) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    MessageRow.purpose.startswith(purpose_prefix),
                    MessageRow.state.in_(("pending", "sending")),
                )
            )
            or 0
        )


async def send_all(web: Web, settings: Settings) -> None:
    """The real sender on the test's clock until no status message waits."""
    stop = asyncio.Event()
    sender = asyncio.create_task(
        run_sender(
            stop, settings=settings, session_factory=web.factory, clock=web.clock,
            options=SenderOptions(poll_s=0.05, concurrency=4),
        )
    )
    try:
        await until(lambda: pending(web) == 0, "every status message sent")
    finally:
        stop.set()
        await asyncio.wait_for(sender, 20)


def links(text: str) -> list[str]:
    """The confirmation and unsubscribe links in a message."""
    return LINK.findall(text)
