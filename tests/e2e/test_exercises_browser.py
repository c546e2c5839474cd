"""An exercise planned, started and finished by clicks alone in a real browser (Debian's Chromium
driven by Playwright) at 390 px, on SQLite and PostgreSQL: its results (pass and fail with the
evidence) and the action its finding became are shown; no page of the section scrolls sideways,
and no script or Content-Security-Policy error is reported.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from _browser import PHONE, WAIT_MS, Server, chromium, fits, watched
from _web import PASSWORD, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import ActionRow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium"]  # the fixture, imported for pytest


def test_an_exercise_by_clicks_at_phone_width(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    server = Server(web.app)
    server.start()
    try:
        context = chromium.new_context(viewport=PHONE)
        context.set_default_timeout(WAIT_MS)
        page, problems = watched(context)
        page.goto(f"{server.base}/login?next=/exercises")
        page.fill("#username", Role.MANAGER.value)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]:has-text('Log in')")
        page.wait_for_url(f"{server.base}/exercises")
        fits(page)
        page.fill("#ex-title", "CRM lost at opening time")
        page.check("#ex-down input[value='crm']")
        page.fill("#ex-minutes", "20")
        page.select_option("#kind-1", "acknowledged_within")
        page.fill("#objective-1 input[name='row_minutes']", "5")
        page.click("#plan-exercise")
        page.wait_for_selector("#exercises-done")
        fits(page)
        page.click("button[id^='start-']")
        page.wait_for_selector("button[id^='finish-']")
        assert "The exercise has started" in page.inner_text("#exercises-done")
        web.clock.advance(timedelta(minutes=8))
        page.click("button[id^='finish-']")
        page.wait_for_selector("#exercises-done:has-text('finished')")
        results = page.inner_text("table.results")
        assert "On call acknowledged within 5 minutes" in results and "FAIL" in results
        assert "no incident was opened" in results
        with unit_of_work(web.factory) as session:
            (action_id,) = session.scalars(select(ActionRow.id))
        action = page.locator(f"#action-{action_id}")
        assert "owner unassigned" in action.inner_text()
        page.select_option(f"#owner-{action_id}", "amara")
        action.locator("button:has-text('Assign')").click()
        page.wait_for_selector("#exercises-done:has-text('assigned')")
        assert "owner amara" in page.inner_text(f"#action-{action_id}")
        fits(page)
        for path in ("/exercises/reviews", "/exercises/readiness"):
            page.goto(f"{server.base}{path}")
            page.wait_for_load_state()
            fits(page)
        context.close()
        assert problems == []
    finally:
        server.stop()
