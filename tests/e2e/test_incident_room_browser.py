"""The incident room in a real browser (Debian's Chromium driven by Playwright) against a real server on
127.0.0.1, on SQLite and PostgreSQL: an outage worked by clicks alone, from the link in the emailed
notice through the login to the resolved incident; a viewer sees no button and a forged POST is
refused; changes show without a reload; at 390 px nothing scrolls sideways; no script errors and no
Content-Security-Policy violations.

Without Chromium or Playwright the tests skip with a message, unless CI=true,
STANDBY_REQUIRE_BROWSER=1 or STANDBY_REQUIRE_POSTGRES=1, when they fail.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from _browser import Server, chromium, fits, log_in_browser, on_a_phone, submit_login
from _receivers import SmtpReceiver
from _web import Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_incident_room import leeds_dark

from standby.access.roles import Role
from standby.config import Settings
from standby.notify.runner import run_sender
from standby.notify.sender import SenderOptions
from standby.respond.deliveries import record_delivery
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, MessageRow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium"]  # the fixture, imported for pytest

ACK_SECRET = "s" * 40  # what the response signs the pages' acknowledgement links with (test_incident_room)
NOT_CONFIGURED = "email is not configured"



def send_all(web: Web, settings: Settings, done: Callable[[], bool]) -> None:
    """The real sender, in its own thread and loop, until `done()` (bounded in time)."""

    async def run() -> None:
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
            for _ in range(600):
                if done():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("the sender did not settle within 30 s")
        finally:
            stop.set()
            await asyncio.wait_for(sender, 20)

    failures: list[BaseException] = []

    def thread() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # handed to the test's thread
            failures.append(exc)

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and not failures, failures


def deliver_with_smtp(web: Web, tmp_path: Path, *message_ids: int) -> list[str]:
    """SMTP is configured now: a real SMTP server on 127.0.0.1 and the sender, until the messages are sent."""
    got: list[str] = []

    async def run() -> None:
        async with SmtpReceiver() as smtp:
            settings = Settings(
                database_url="sqlite://",
                data_dir=tmp_path,
                smtp_url=smtp.url(),
                smtp_from="Standby <standby@northwind.example>",
            )
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
                for _ in range(600):
                    if all(state(web, m) == "sent" for m in message_ids):
                        break
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await asyncio.wait_for(sender, 20)
            got.extend(to for mail in smtp.mails for to in mail.rcpt_tos)

    worker = threading.Thread(target=lambda: asyncio.run(run()))
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    return got


def state(web: Web, message_id: int) -> str:
    with unit_of_work(web.factory) as session:
        found = session.scalar(select(MessageRow.state).where(MessageRow.id == message_id))
        return str(found)


def nothing_due(web: Web) -> bool:
    with unit_of_work(web.factory) as session:
        waiting = select(MessageRow.id).where(MessageRow.state.in_(("pending", "sending")))
        return not session.scalars(waiting).all()


def test_an_outage_worked_by_clicks_alone_from_the_emailed_link(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    with Server(web.app) as server:
        incident_id = leeds_dark(web, tmp_path, base_url=server.base)
        no_smtp = Settings(database_url="sqlite://", data_dir=tmp_path)
        send_all(web, no_smtp, lambda: nothing_due(web))  # nothing configured: every message parks
        with unit_of_work(web.factory) as session:
            notice = session.scalars(
                select(MessageRow)
                .where(MessageRow.purpose == "comm-detected", MessageRow.channel == "email")
                .order_by(MessageRow.id)
            ).first()
            assert notice is not None and notice.state == "parked", notice
            parked_id, recipient = notice.id, notice.recipient
            link = re.search(r"https?://\S+/incidents/\d+", notice.body)
        assert link is not None and link.group(0) == f"{server.base}/incidents/{incident_id}"

        context, page, problems = on_a_phone(chromium)
        page.goto(link.group(0))
        assert page.url.startswith(f"{server.base}/login?next=")
        submit_login(page, Role.RESPONDER)
        page.wait_for_url(link.group(0))
        assert page.inner_text("#room-title") == "Leeds power down"
        fits(page)

        page.click("#acknowledge")
        page.wait_for_selector("#room-done:has-text('Acknowledged')")
        assert page.inner_text("#room-step") == "acknowledged"

        page.select_option("#role-role", "commander")
        page.select_option("#role-person", "amara")
        page.click("#assign")
        page.wait_for_selector("#room-done:has-text('Role given')")
        assert "Amara Okafor" in page.inner_text(".room-facts")

        # The centre: Leeds is dark, nobody can answer the emergency line; its tolerance runs.
        emergency = page.inner_text("#queue-emergency")
        assert "nobody is able to answer it" in emergency and "left" in emergency
        assert page.locator("#caught-calls a[href^='/calls?outage=']").count() == 1

        page.select_option("#severity-level", "1")
        page.click("#change-severity")  # no reason: the browser's own check stops it
        assert "SEV2" in page.inner_text(".room-pills")
        page.fill("#severity-reason", "the gas emergency line has nobody to answer it")
        page.click("#change-severity")
        page.wait_for_selector("#room-done:has-text('Severity changed')")
        assert "SEV1 (critical)" in page.inner_text(".room-pills")
        fits(page)

        page.click("#approve-leeds-to-home")
        page.wait_for_selector("#room-done:has-text('Strategy approved')")
        page.click("#tick-leeds-to-home-0")
        page.wait_for_selector("#room-done:has-text('Runbook step')")
        page.click("#tick-leeds-to-home-1")
        page.wait_for_selector("#tick-leeds-to-home-1:has-text('Untick')")
        assert page.locator("#strategy-leeds-to-home .runbook li.done").count() == 2
        fits(page)

        # The next update to leadership, drafted from the templates, edited and sent by click.
        assert "Update 1 at" in page.input_value("#update-leadership-email")
        page.fill("#update-leadership-email", "Leeds is dark; 75 agents move home from 11:06.")
        page.click("#send-leadership")
        page.wait_for_selector("#room-done:has-text('Update sent')")
        assert "Update 2 to leadership" in page.inner_text("#update-leadership")
        with unit_of_work(web.factory) as session:
            update_ids = session.scalars(
                select(MessageRow.id).where(
                    MessageRow.idempotency_key.like("comm:%:leadership:update:by-hand:%"),
                    MessageRow.channel == "email",
                )
            ).all()
        assert len(update_ids) == 3
        fits(page)

        # SMTP is configured now: the parked notice is retried from the room and goes out, with the update.
        assert NOT_CONFIGURED in page.inner_text(f"#parked-{parked_id}")
        page.click(f"#retry-{parked_id}")
        page.wait_for_selector("#room-done:has-text('goes out again')")
        assert page.locator(f"#parked-{parked_id}").count() == 0
        arrived = deliver_with_smtp(web, tmp_path, parked_id, *update_ids)
        assert recipient in arrived
        assert {"sam@northwind.example", "amara@northwind.example", "jo@northwind.example"} <= set(arrived)
        assert state(web, parked_id) == "sent"

        page.fill("#note-text", "Facilities: the UPS failed at 10:25")
        page.fill("#note-at", "2026-06-15T10:25")
        page.click("#add-note")
        page.wait_for_selector("#room-done:has-text('Note added')")
        page.click(".filters a:has-text('People')")
        page.wait_for_url(re.compile(r"show=people"))
        people = page.inner_text(".timeline")
        assert "Facilities: the UPS failed at 10:25" in people and "Paged Lin Zhou" not in people

        for step in ("diagnosing", "recovering", "verifying"):
            page.click(f"button[data-to={step}]")
            page.wait_for_function(
                "s => (document.getElementById('room-step') || {}).textContent === s", arg=step
            )
        page.click("button[data-to=resolved]")  # no reason: the browser's own check stops it
        assert page.inner_text("#room-step") == "verifying"
        page.fill("#reason-resolved", "power back; Leeds answering again")
        page.click("button[data-to=resolved]")
        page.wait_for_function(
            "() => (document.getElementById('room-step') || {}).textContent === 'resolved'"
        )
        fits(page)
        with unit_of_work(web.factory) as session:
            row = session.get(IncidentRow, incident_id)
            assert row is not None
            assert (row.state, row.commander) == ("resolved", "amara")
            assert row.acknowledged_at is not None and row.resolved_at is not None

        page.goto(f"{server.base}/")
        assert page.locator(f"a[href='/incidents/{incident_id}']").count() == 0  # resolved: not listed
        fits(page)
        page.close()
        context.close()
        assert problems == []


def test_a_viewer_sees_no_buttons_and_sees_changes_live(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, secret_key=ACK_SECRET)
    with Server(web.app) as server:
        incident_id = leeds_dark(web, tmp_path, base_url=server.base)
        room = f"{server.base}/incidents/{incident_id}"
        context, page, problems = on_a_phone(chromium, touch=False)

        # The acknowledgement link of the page's email, on a phone: it fits, and its button works.
        with unit_of_work(web.factory) as session:
            paged = session.scalars(
                select(MessageRow.body).where(MessageRow.purpose == "page", MessageRow.channel == "email")
            ).first()
        ack = re.search(r"https?://\S+/ack/[\w.-]+", paged or "")
        assert ack is not None, paged
        page.goto(ack.group(0))
        assert "Leeds power down" in page.inner_text("main")
        fits(page)
        page.click("button:has-text('Acknowledge')")
        page.wait_for_selector("text=Acknowledged")
        fits(page)
        log_in_browser(page, server.base, Role.VIEWER, f"/incidents/{incident_id}")
        assert page.locator("form[method=post]:not(.logout)").count() == 0
        assert page.locator("button:not(.logout button)").count() == 0
        fits(page)
        page.goto(f"{server.base}/")
        assert page.locator(f"a[href='/incidents/{incident_id}']").count() == 1
        fits(page)
        page.click(f"a[href='/incidents/{incident_id}']")
        page.wait_for_url(room)

        # A forged POST with the viewer's own cookie, from our origin: refused by role.
        forged = page.request.post(
            f"{room}/state", form={"to": "diagnosing"}, headers={"Origin": server.base}
        )
        assert forged.status == 403 and "does not allow this" in forged.text()

        # A responder works the incident elsewhere: the viewer's room shows it without a reload.
        other = chromium.new_context()
        responder = other.new_page()
        log_in_browser(responder, server.base, Role.RESPONDER, f"/incidents/{incident_id}")
        # A cross-site form POST with the responder's cookie: refused as a forgery.
        cross = responder.request.post(
            f"{room}/state", form={"to": "diagnosing"}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status == 403 and "cross-site" in cross.text()
        responder.fill("#note-text", "Generator on its way")
        responder.click("#add-note")
        responder.wait_for_selector("#room-done:has-text('Note added')")
        page.wait_for_selector(".timeline :text('Generator on its way')", timeout=20_000)
        assert page.locator("form[method=post]:not(.logout)").count() == 0
        other.close()
        page.close()
        context.close()
        assert problems == []
