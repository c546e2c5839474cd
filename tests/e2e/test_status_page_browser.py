"""The public status page in a real browser (Debian's Chromium driven by Playwright) against a real
server on 127.0.0.1, on SQLite and PostgreSQL: before, during and after an outage, at 390 px, with
no sideways scrolling, no script at all, and no console errors (CSP violations among them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from _browser import PHONE, WAIT_MS, Server, chromium, fits, watched
from _status import ivr_back, ivr_down
from _web import make_web
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium"]  # the fixture, imported for pytest


def test_the_page_before_during_and_after_an_outage_on_a_phone(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    board = web.app.state.status_board
    with Server(web.app) as server:
        context = chromium.new_context(
            viewport={"width": PHONE["width"], "height": PHONE["height"]},
            has_touch=True,
            java_script_enabled=False,
        )
        page, problems = watched(context)
        try:
            page.goto(f"{server.base}/status", timeout=WAIT_MS)
            assert page.locator("h1").inner_text() == "All Systems Operational"
            assert page.locator(".service").count() == 3
            assert page.locator(".bar").first.locator("li").count() == 90
            assert page.locator("nav").count() == 0
            fits(page)

            incident_id = ivr_down(web, tmp_path)
            board.refresh()
            page.reload(timeout=WAIT_MS)
            assert page.locator("h1").inner_text() == "Partial System Outage"
            assert page.locator(".pill.status-major_outage").count() == 2
            assert "cannot answer calls about Billing and payments" in page.locator(".notice").inner_text()
            fits(page)
            page.locator(".notice h3 a").click()
            page.wait_for_url(f"**/status/incidents/{incident_id}", timeout=WAIT_MS)
            assert "Investigating" in page.locator(".notice").inner_text()
            fits(page)

            ivr_back(web, tmp_path, incident_id)
            board.refresh()
            page.goto(f"{server.base}/status", timeout=WAIT_MS)
            page.reload(timeout=WAIT_MS)  # the browser may keep its copy 5 s (max-age): revalidate
            assert page.locator("h1").inner_text() == "All Systems Operational"
            assert page.locator(".day-some").count() == 2  # billing's and moving home's 40 minutes
            assert "Resolved" in page.locator(".notice.resolved").inner_text()
            fits(page)
            # The bar's end labels stay whole beside a long summary ("99.97% uptime, 1 day with
            # downtime"): seen at 390 px as "Toda" over "y".
            lines = (
                "e => { const r = document.createRange(); r.selectNodeContents(e);"
                " return r.getClientRects().length; }"
            )
            ends = page.locator(".bar-legend span:first-child, .bar-legend span:last-child")
            assert ends.count() == 6
            assert [end.evaluate(lines) for end in ends.all()] == [1] * 6
            assert problems == [], problems
        finally:
            context.close()
