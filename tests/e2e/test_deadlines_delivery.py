"""The regulator's deadline through the real sender, on SQLite and PostgreSQL: met only when a real
SMTP server on 127.0.0.1 took the message; with no SMTP the message parks, the deadline is at risk
then missed, in red on the overview, and the communications person is told at once, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from _receivers import SmtpReceiver
from _web import T0, Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_api_outages import fail_components

from standby.access.roles import Role
from standby.config import Settings
from standby.notify.runner import run_sender
from standby.notify.sender import SenderOptions
from standby.plan.versions import current_plan
from standby.respond.deliveries import record_delivery
from standby.respond.responder import ResponseSettings, respond_once
from standby.respond.timeline import Entry, entries
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, MessageRow

pytestmark = pytest.mark.anyio

REGULATOR = "incidents@regulator.example"
NOT_CONFIGURED = "email is not configured: set STANDBY_SMTP_URL"


async def until(condition: Callable[[], object], what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.05)


def respond(web: Web, settings: Settings, minutes: float) -> None:
    web.clock.set(T0 + timedelta(minutes=minutes))
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        respond_once(
            session,
            plan=plan,
            now=web.clock.now(),
            holder="w",
            settings=ResponseSettings(secret="s" * 40, base_url="https://standby.test", config=settings),
        )


def regulator_message(factory: sessionmaker[Session]) -> MessageRow | None:
    with unit_of_work(factory) as session:
        row = session.scalars(select(MessageRow).where(MessageRow.recipient == REGULATOR)).first()
        if row is not None:
            session.expunge(row)
        return row


async def send_until_settled(web: Web, settings: Settings, minutes: float) -> MessageRow:
    """The real sender, on the test's clock, until the regulator's message is sent or parked."""
    web.clock.set(T0 + timedelta(minutes=minutes))
    stop = asyncio.Event()
    sender = asyncio.create_task(
        run_sender(
            stop,
            settings=settings,
            session_factory=web.factory,
            clock=web.clock,
            on_outcome=record_delivery,
            options=SenderOptions(poll_s=0.05, concurrency=4),
        )
    )
    try:
        await until(
            lambda: (m := regulator_message(web.factory)) is not None and m.state in ("sent", "parked"),
            "the regulator's email sent or parked",
        )
    finally:
        stop.set()
        await asyncio.wait_for(sender, 20)
    found = regulator_message(web.factory)
    assert found is not None
    return found


def deadline_entries(web: Web) -> list[Entry]:
    with unit_of_work(web.factory) as session:
        (incident_id,) = session.scalars(select(IncidentRow.id)).all()
        return entries(session, incident_id, kind="deadline")


def alerts(web: Web) -> list[tuple[str, str, str]]:
    with unit_of_work(web.factory) as session:
        rows = session.scalars(select(MessageRow).where(MessageRow.purpose == "deadline")).all()
        return sorted((r.idempotency_key.split(":")[3], r.channel, r.recipient) for r in rows)


async def incident_deadlines(web: Web) -> list[dict[str, object]]:
    async with web.client() as client:
        listed = await client.get("/api/v1/incidents", headers=web.bearer(Role.VIEWER))
        (incident,) = listed.json()["incidents"]
        detail = await client.get(f"/api/v1/incidents/{incident['id']}", headers=web.bearer(Role.VIEWER))
    assert detail.json()["deadlines"] == incident["deadlines"]
    deadlines: list[dict[str, object]] = incident["deadlines"]
    return deadlines


async def a_total_outage_told_to_the_regulator(web: Web, settings: Settings) -> None:
    fail_components(web, "trunk-a", "trunk-b")
    respond(web, settings, 0)
    respond(web, settings, 6)  # past the interruption hold: the regulator's email is queued
    (queued,) = deadline_entries(web)
    assert queued.text == (
        "Deadline at risk: regulator not told yet, due by 11:30 BST (within 60 minutes): email to Energy"
        " regulator incident desk queued, not delivered yet"
    )


async def test_the_deadline_is_met_when_the_smtp_server_took_the_message(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    async with SmtpReceiver() as smtp:
        settings = Settings(
            database_url="sqlite://",
            data_dir=tmp_path,
            smtp_url=smtp.url(),
            smtp_from="Standby <standby@northwind.example>",
        )
        await a_total_outage_told_to_the_regulator(web, settings)
        message = await send_until_settled(web, settings, 6.4)
    assert message.state == "sent" and message.sent_at == T0 + timedelta(minutes=6.4)
    assert any(REGULATOR in mail.rcpt_tos for mail in smtp.mails)
    respond(web, settings, 7)
    respond(web, settings, 8)
    _queued, met = deadline_entries(web)
    assert met.text == (
        "Deadline met: regulator told at 10:36 BST, within 60 minutes (due by 11:30 BST): email to Energy"
        " regulator incident desk delivered"
    )
    assert met.at == message.sent_at and met.data["message_id"] == message.id
    (deadline,) = await incident_deadlines(web)
    assert (deadline["group"], deadline["state"], deadline["cause"]) == ("regulator", "met", "delivered")
    assert deadline["at"] == "2026-06-15T09:36:24Z" and deadline["message_id"] == message.id
    assert alerts(web) == []


async def test_with_no_smtp_the_deadline_is_at_risk_then_missed_and_the_lead_told_once(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    # Seen: "Deadline met: regulator told at 23:51, within 60 minutes", then one second later
    # "Not delivered, parked".
    web = make_web(session_factory, tmp_path)
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, public_url="https://standby.test")
    await a_total_outage_told_to_the_regulator(web, settings)
    message = await send_until_settled(web, settings, 6.4)
    assert message.state == "parked" and message.last_error == NOT_CONFIGURED
    respond(web, settings, 7)
    respond(web, settings, 8)
    texts = [e.text for e in deadline_entries(web)]
    assert not any(t.startswith("Deadline met") for t in texts)
    assert texts[1:] == [
        "Deadline at risk: regulator not told yet, due by 11:30 BST (within 60 minutes): email to Energy"
        f" regulator incident desk parked: {NOT_CONFIGURED}; Jo Mensah told at once"
    ]
    assert alerts(web) == [("at_risk", "email", "jo@northwind.example"), ("at_risk", "sms", "+447700900005")]
    with unit_of_work(web.factory) as session:
        sms = session.scalars(
            select(MessageRow).where(MessageRow.purpose == "deadline", MessageRow.channel == "sms")
        ).one()
    assert sms.body.startswith(
        f"[Standby] Incident {sms.incident_id}: deadline at risk for regulator (due by 11:30 BST): email to"
        f" Energy regulator incident desk parked: {NOT_CONFIGURED} https://standby.test/incidents/"
    )
    (deadline,) = await incident_deadlines(web)
    assert (deadline["state"], deadline["cause"], deadline["at"]) == ("at_risk", "parked", None)

    respond(web, settings, 61)
    respond(web, settings, 62)
    *_, missed = deadline_entries(web)
    assert missed.text == (
        "Deadline missed: regulator not told by 11:30 BST (promised within 60 minutes): email to Energy"
        f" regulator incident desk parked: {NOT_CONFIGURED}; Jo Mensah told at once"
    )
    assert missed.at == T0 + timedelta(minutes=60)  # when it was missed: the deadline
    assert len(deadline_entries(web)) == 3
    assert alerts(web) == [
        ("at_risk", "email", "jo@northwind.example"),
        ("at_risk", "sms", "+447700900005"),
        ("missed", "email", "jo@northwind.example"),
        ("missed", "sms", "+447700900005"),
    ]
    (deadline,) = await incident_deadlines(web)
    assert (deadline["state"], deadline["cause"]) == ("missed", "parked")
    async with web.client() as client:
        page = await client.get("/", headers=web.bearer(Role.VIEWER))
    assert page.status_code == 200
    assert '<span class="pill tone-down">Deadline missed: regulator, due by' in page.text
