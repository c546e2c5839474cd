"""The incidents and outages lists in a real browser (Debian's Chromium driven by Playwright) against a
real server on 127.0.0.1, on SQLite and PostgreSQL: an incident declared by clicks from /incidents
lands in its room; at 390 px neither list nor an outage's page scrolls sideways; no script errors
and no Content-Security-Policy violations.

Without Chromium or Playwright the test skips with a message, unless CI=true,
STANDBY_REQUIRE_BROWSER=1 or STANDBY_REQUIRE_POSTGRES=1, when it fails.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from _browser import Server, chromium, fits, log_in_browser, on_a_phone
from _web import T0, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_incident_room import leeds_dark

from standby.access.roles import Role
from standby.plan.versions import current_plan
from standby.respond.incident_service import declare
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, OutageRow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium"]  # the fixture, imported for pytest

LONG_TITLE = "Softphone-registration-failures-across-every-Leeds-and-home-agent-since-the-certificate-change"


def test_an_incident_declared_by_clicks_lands_in_its_room_and_the_lists_fit_a_phone(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    with Server(web.app) as server:
        detected = leeds_dark(web, tmp_path, base_url=server.base)  # an outage, its incident, deadlines
        with unit_of_work(web.factory) as session:
            _, plan = current_plan(session)  # type: ignore[misc]
            declare(
                session,
                title=LONG_TITLE,
                classification="degraded",
                plan=plan,
                by="user:manager",
                now=T0 + timedelta(minutes=5),
            )
            (outage_id,) = session.scalars(select(OutageRow.id)).all()
        context, page, problems = on_a_phone(chromium)
        log_in_browser(page, server.base, Role.RESPONDER, "/incidents")
        assert page.locator(f"a.incident-link[href='/incidents/{detected}']").count() == 1
        fits(page)

        page.click("#declare summary")
        page.fill("#declare-title", "Agents cannot log in to the softphone")
        page.select_option("#declare-class", "partial")
        page.check("input[name=queues][value=emergency]")
        fits(page)
        page.click("#declare-button")
        page.wait_for_url(re.compile(r"/incidents/\d+$"))
        assert page.inner_text("#room-title") == "Agents cannot log in to the softphone"
        declared_id = int(page.url.rsplit("/", 1)[1])
        with unit_of_work(web.factory) as session:
            row = session.get(IncidentRow, declared_id)
            assert row is not None
            assert (row.classification, row.severity, row.declared_by) == ("partial", 1, "user:responder")

        page.goto(f"{server.base}/incidents?state=open&severity=1")
        assert page.locator("a.incident-link").first.get_attribute("href") == f"/incidents/{declared_id}"
        fits(page)
        page.goto(f"{server.base}/incidents")
        assert page.locator("a.incident-link").count() == 3
        fits(page)
        page.goto(f"{server.base}/outages")
        page.click(f"a.outage-link[href='/outages/{outage_id}']")
        page.wait_for_url(f"{server.base}/outages/{outage_id}")
        assert "Leeds power down" in page.inner_text("#outage-title")
        fits(page)
        page.click(f"#outage-incident a[href='/incidents/{detected}']")
        page.wait_for_url(f"{server.base}/incidents/{detected}")
        page.goto(f"{server.base}/outages")
        fits(page)
        page.close()
        context.close()
        assert problems == []
