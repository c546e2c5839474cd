"""The on-call, messages and maintenance pages in a real browser (Debian's Chromium driven by
Playwright) against a real server on 127.0.0.1, on SQLite and PostgreSQL: a parked message retried
from the overview's link, a maintenance window declared and cancelled, the calendar address copied,
all by clicks; at 390 px nothing scrolls sideways; no script errors, no Content-Security-Policy
violations.

Without Chromium or Playwright the test skips with a message, unless CI=true,
STANDBY_REQUIRE_BROWSER=1 or STANDBY_REQUIRE_POSTGRES=1, when it fails.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

from _browser import chromium, fits, log_in_browser, on_a_phone
from _web import Served, Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.notify import outbox
from standby.store.engine import unit_of_work
from standby.store.tables import MaintenanceWindowRow, MessageRow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium"]  # the fixture, imported for pytest

NOT_CONFIGURED = "sms is not configured: set STANDBY_SMS_URL"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parked_sms(web: Web) -> int:
    """A text to the on-call engineer that could not be sent: parked, as the sender leaves it."""
    with unit_of_work(web.factory) as session:
        return outbox.enqueue(
            session,
            key="browser:parked",
            channel="sms",
            recipient="+44 7700 900003",
            body="Standby: Leeds power down. Reply or open the incident.",
            purpose="page",
            now=web.clock.now(),
            parked_reason=NOT_CONFIGURED,
        ).id


def test_retry_declare_and_cancel_by_clicks_on_a_phone(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = make_web(session_factory, tmp_path, secret_key="b" * 40, public_url=base)
    message_id = parked_sms(web)
    with Served(web.app, port=port):
        context, page, problems = on_a_phone(chromium)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        log_in_browser(page, base, Role.RESPONDER)

        # The overview's warning leads to the parked messages; Retry sends it again.
        page.click("#messages-stuck a")
        page.wait_for_url(f"{base}/messages?state=parked")
        assert NOT_CONFIGURED in page.inner_text(f"#message-{message_id}")
        assert page.inner_text("#count-parked .count") == "1"
        fits(page)
        page.click(f"#retry-{message_id}")
        page.wait_for_selector("#messages-done:has-text('goes out again')")
        assert page.locator(f"#message-{message_id}").count() == 0
        assert page.inner_text("#count-parked .count") == "0"
        with unit_of_work(web.factory) as session:
            row = session.get(MessageRow, message_id)
            assert row is not None and (row.state, row.attempts) == ("pending", 0)
        page.click("#count-pending")
        page.wait_for_url(f"{base}/messages?state=pending")
        assert page.locator(f"#message-{message_id} #cancel-{message_id}").count() == 1
        fits(page)

        # A window for the CRM's failover test, declared and then called off.
        page.click("details.nav-narrow summary")
        page.click("details.nav-narrow a[href='/maintenance']")
        page.wait_for_url(f"{base}/maintenance")
        fits(page)
        page.select_option("#window-components", ["crm", "ivr"])
        page.fill("#window-starts", "2026-06-15T10:00")
        page.fill("#window-ends", "2026-06-23T10:00")  # eight days: too long, the server says
        page.fill("#window-reason", "CRM database failover test")
        page.click("#declare-window")
        page.wait_for_selector("#maintenance-error:has-text('more than 7 days')")
        assert page.input_value("#window-reason") == "CRM database failover test"
        fits(page)
        page.fill("#window-ends", "2026-06-15T12:00")
        page.click("#declare-window")
        page.wait_for_selector("#maintenance-done:has-text('declared')")
        with unit_of_work(web.factory) as session:
            window_id = session.scalars(select(MaintenanceWindowRow.id)).one()
        active = page.inner_text(f"#active #window-api-{window_id}")
        assert "CRM database failover test" in active and "Mon 15 Jun 10:00 → Mon 15 Jun 12:00" in active
        fits(page)
        page.click(f"#cancel-api-{window_id}")
        page.wait_for_selector("#maintenance-done:has-text('cancelled')")
        assert "cancelled Mon 15 Jun 10:30 by responder" in page.inner_text(f"#past #window-api-{window_id}")
        assert page.locator(f"#active #window-api-{window_id}").count() == 0

        # On call: the calendar address copied with a tap opens the feed without a login.
        page.goto(f"{base}/oncall")
        assert page.locator("#rotation-platform-oncall .who-on-call").count() == 2
        fits(page)
        page.click("button.copy[data-copy='calendar-platform-oncall']")
        page.wait_for_selector("button.copy:has-text('Copied')")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.input_value("#calendar-platform-oncall")
        assert copied.startswith(f"{base}/api/v1/oncall/platform-oncall/calendar.ics?key=")
        anonymous = chromium.new_context()
        feed = anonymous.request.get(copied)
        assert feed.status == 200 and "BEGIN:VCALENDAR" in feed.text()
        anonymous.close()
        page.close()
        context.close()
        # The one refusal answers 400, which Chromium logs; nothing else went wrong.
        refused = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
        assert problems == [refused]
