"""The review in a real browser (Chromium driven by Playwright) against a real server on 127.0.0.1,
on SQLite and PostgreSQL: written, an action set and the review signed off by clicks; the review
page and /reviews fit a 390-px screen; the exported HTML report fits 390 px, lays out on A4 paper
without sideways overflow and prints to A4 PDF; no script errors or Content-Security-Policy violations.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from _browser import PHONE, WAIT_MS, Server, chromium, fits, watched
from _web import PASSWORD, T0, make_web
from sqlalchemy.orm import Session, sessionmaker
from test_api_review import resolve_crm_outage

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium"]  # the fixture, imported for pytest

A4 = {"width": 794, "height": 1123}  # 210 x 297 mm at 96 px an inch
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def test_the_review_by_clicks_and_its_report_on_a_phone_and_on_a4(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    incident_id = resolve_crm_outage(web)
    web.clock.set(T0 + timedelta(hours=2))
    server = Server(web.app)
    server.start()
    try:
        context = chromium.new_context(viewport=PHONE, has_touch=True)
        context.set_default_timeout(WAIT_MS)
        page, problems = watched(context)
        page.goto(f"{server.base}/incidents/{incident_id}")
        page.fill("#username", "manager")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]:has-text('Log in')")
        page.wait_for_url(f"{server.base}/incidents/{incident_id}")
        page.click("#room-review")
        page.wait_for_url(f"{server.base}/incidents/{incident_id}/review")
        fits(page)
        assert "time_to_acknowledge_s" in page.inner_text(".review-body")
        assert "never" in page.inner_text(".review-body table.measures")

        page.fill("#review-factors", "The CRM vendor's certificate expired unnoticed.")
        page.fill("#review-went_well", "The outage message went out at once.")
        page.click("#review-save")
        page.wait_for_selector("#review-done")
        assert page.input_value("#review-factors") == "The CRM vendor's certificate expired unnoticed."
        page.fill("#action-title", "Alert 30 days before a certificate expires")
        page.select_option("#action-owner", "dev")
        page.fill("#action-due", "2026-07-01")
        page.select_option("#action-kind", "detect")
        page.select_option("#action-links", ["component:crm"])
        page.click("#action-set")
        page.wait_for_selector("#review-done")
        assert "Alert 30 days before a certificate expires" in page.inner_text(".review-body")
        fits(page)
        page.click("#review-sign-off")
        page.wait_for_selector("#review-done")
        assert page.inner_text("#review-state") == "signed off"
        assert page.locator("#review-form").count() == 0  # signed off: no more writing
        fits(page)

        page.goto(f"{server.base}/reviews")
        fits(page)
        assert page.locator("svg.chart").count() >= 6 + 3
        assert page.inner_text("#actions-open") == "1"

        exported = page.request.get(f"{server.base}/api/v1/incidents/{incident_id}/review?format=html")
        assert exported.ok and "attachment" in exported.headers["content-disposition"]
        report = tmp_path / "review.html"
        report.write_bytes(exported.body())
        page.goto(report.as_uri())
        assert f"Incident {incident_id}" in page.inner_text("h1")
        assert page.locator("svg.chart").count() >= 5  # the phases and the impact report's charts
        fits(page)
        page.close()

        paper = chromium.new_context(viewport=A4)
        printed, paper_problems = watched(paper)
        printed.goto(report.as_uri())
        printed.emulate_media(media="print")
        assert printed.evaluate(NO_OVERFLOW)
        pdf = printed.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
        paper.close()
        context.close()
        assert problems == [] and paper_problems == []
    finally:
        server.stop()
