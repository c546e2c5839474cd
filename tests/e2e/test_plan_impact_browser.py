"""The plan pages and the impact simulator in a real browser (Debian's Chromium driven by Playwright)
against a real server on 127.0.0.1, on SQLite and PostgreSQL: the simulator run by clicks shows its
report; at 390 px neither /plan, the diff, /impact with its report, nor the report file that
`standby impact --html` writes scrolls sideways; no script errors and no Content-Security-Policy
violations.

Without Chromium or Playwright the test skips with a message, unless CI=true,
STANDBY_REQUIRE_BROWSER=1 or STANDBY_REQUIRE_POSTGRES=1, when it fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from _browser import PHONE, Server, chromium, fits, on_a_phone, submit_login
from _web import make_web
from sqlalchemy.orm import Session, sessionmaker
from test_plan_pages import billing_slower, record
from typer.testing import CliRunner

from standby.access.roles import Role
from standby.cli import app
from standby.plan.loading import reference_plan_text

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["chromium"]  # the fixture, imported for pytest

WIDEST_CHART = """() => Math.max(...Array.from(document.querySelectorAll('svg.chart'))
  .map(s => s.getBoundingClientRect().right))"""


def charts_fit(page: Page) -> None:
    """Every chart is drawn within the screen: it scales to its box rather than scrolling."""
    assert page.locator("svg.chart").count() >= 8
    assert page.evaluate(WIDEST_CHART) <= PHONE["width"]


def test_the_simulator_by_clicks_and_every_plan_page_on_a_phone(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    second = record(web, billing_slower(), 30)
    # The report file exactly as the command line writes it, to forward.
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(reference_plan_text(), encoding="utf-8")
    report_file = tmp_path / "report.html"
    written = CliRunner().invoke(
        app,
        [
            "impact",
            str(plan_file),
            "--down",
            "acd",
            "--at",
            "10:00",
            "--minutes",
            "60",
            "--replications",
            "2",
            "--workers",
            "1",
            "--html",
            str(report_file),
        ],
    )
    assert written.exit_code == 0, written.output
    with Server(web.app) as server:
        context, page, problems = on_a_phone(chromium)
        page.goto(f"{server.base}/impact")
        assert page.url.startswith(f"{server.base}/login?next=")
        submit_login(page, Role.VIEWER)
        page.wait_for_url(f"{server.base}/impact")
        fits(page)

        page.check("#down-acd")
        page.fill("#impact-at", "10:00")
        page.fill("#impact-minutes", "60")
        page.fill("#impact-replications", "2")
        page.click("#impact-run")
        page.wait_for_selector("#impact-report")
        assert "An hour without CloudCX routing (ACD) from 10:00" in page.inner_text("#impact-report h1")
        assert page.is_checked("#down-acd")
        fits(page)
        charts_fit(page)

        page.check("#down-crm")
        page.fill("#impact-minutes", "0")
        # The browser's own check stops a zero before it is sent (the server would say so too).
        assert page.evaluate("document.getElementById('impact-minutes').validity.rangeUnderflow")

        for path in ("/plan", f"/plan/diff?from=1&to={second}", "/plan/versions/1"):
            page.goto(f"{server.base}{path}")
            fits(page)
        page.goto(f"{server.base}/plan/diff?from=1&to={second}")
        assert "aht_s from 420 to 480" in page.inner_text("#changes")

        page.goto(report_file.as_uri())
        assert "An hour without CloudCX routing (ACD) from 10:00" in page.inner_text("h1")
        fits(page)
        charts_fit(page)
        page.close()
        context.close()
        assert problems == []
