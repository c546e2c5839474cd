"""The customers' worklists in a real browser (Debian's Chromium driven by Playwright) against a real
server on 127.0.0.1, on SQLite and PostgreSQL: an agent on a phone completes a callback and works a
cut-off call by clicks alone, reaching each page through the navigation bar; every worklist and the
outcome page fit 390 px with no sideways scrolling and no script or console errors.

Without Chromium or Playwright the test skips with a message, unless CI=true,
STANDBY_REQUIRE_BROWSER=1 or STANDBY_REQUIRE_POSTGRES=1, when it fails.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from _browser import Server, chromium, fits, log_in_browser, on_a_phone
from _web import T0, Web, make_web
from sqlalchemy.orm import Session, sessionmaker
from test_compensation_page import billing_down

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import CallbackRow, InterruptedCallRow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["chromium"]  # the fixture, imported for pytest


def seed(web: Web, base: str) -> tuple[list[int], list[int]]:
    """Callbacks and cut-off calls through the API, as the CRM and the platform send them; offers made."""
    manager = web.bearer(Role.MANAGER)
    callbacks: list[dict[str, Any]] = [
        {
            "customer": "Ada Lovelace-Byron, Countess of a very long name indeed",
            "phone": "+447700900101",
            "due_at": (T0 + timedelta(hours=2)).isoformat(),
            "queue": "billing",
            "vulnerable": True,
            "notes": "Prefers a call after lunch",
        },
        {"customer": "Bo Diddley", "phone": "07700 900102", "due_at": (T0 + timedelta(hours=3)).isoformat(),
         "queue": "moving"},
    ]  # fmt: skip
    calls = [
        {"call_id": "c-1", "customer": "Cy Twombly", "phone": "+447700900103", "queue": "billing",
         "agent": "agent-7", "started_at": (T0 - timedelta(minutes=12)).isoformat(), "vulnerable": True},
    ]  # fmt: skip
    with httpx.Client(base_url=base, headers=manager, timeout=30) as api:
        booked = api.post("/api/v1/callbacks", json=callbacks)
        reported = api.post("/api/v1/calls", json=calls)
        assert booked.status_code == reported.status_code == 200, (booked.text, reported.text)
        outage = billing_down(web, 3, first=20)
        applied = api.post("/api/v1/compensation/apply", params={"outage_id": outage})
        assert applied.status_code == 200 and applied.json()["created"] == 6, applied.text
    return booked.json()["ids"], reported.json()["ids"]


def through_the_menu(page: Page, label: str, path: str) -> None:
    """Open the phone's Menu and follow one of its entries."""
    page.click(".nav-narrow summary")
    page.click(f".nav-narrow a:has-text('{label}')")
    page.wait_for_url(f"**{path}")


def test_an_agent_works_the_lists_by_clicks_on_a_phone(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    with Server(web.app) as server:
        (ada, bo), (cy,) = seed(web, server.base)
        context, page, problems = on_a_phone(chromium)
        log_in_browser(page, server.base, Role.AGENT, "/callbacks")
        assert page.inner_text(f"#callback-{ada} .wl-name").startswith("Ada Lovelace-Byron")
        assert page.locator(f"#callback-{ada} .wl-vulnerable").count() == 1
        fits(page)
        page.click(f"#callback-{ada} .wl-more summary")  # the move and cancel forms open in place
        fits(page)
        page.fill(f"#notes-{ada}", "Called; bill explained")
        page.click(f"#complete-{ada}")
        page.wait_for_selector("#wl-done:has-text('Completed')")
        assert page.locator(f"#complete-{ada}").count() == 0 and page.locator(f"#complete-{bo}").count() == 1
        fits(page)

        page.click(f"#callback-{ada} a.wl-name")
        page.wait_for_url(f"**/callbacks/{ada}")
        assert "Called; bill explained" in page.inner_text("#history")
        fits(page)

        through_the_menu(page, "Calls cut off", "/calls")
        assert page.inner_text(f"#call-{cy} .wl-name") == "Cy Twombly"
        fits(page)
        page.select_option(f"#outcome-{cy}", "called_back")
        page.fill(f"#call-notes-{cy}", "safe and well")
        page.click(f"#work-{cy}")
        page.wait_for_selector("#wl-done:has-text('Worked')")
        assert page.locator(f"#work-{cy}").count() == 0
        fits(page)

        through_the_menu(page, "Compensation", "/compensation")
        assert page.locator(".wl-item").count() == 6
        fits(page)
        through_the_menu(page, "Outcomes", "/outcomes")
        page.wait_for_selector("#sync")
        fits(page)
        page.close()
        context.close()
        assert problems == []

        with unit_of_work(web.factory) as session:
            callback = session.get(CallbackRow, ada)
            call = session.get(InterruptedCallRow, cy)
            assert callback is not None and call is not None
            assert (callback.state, call.state, call.outcome) == ("completed", "worked", "called_back")

        # A manager's compensation page has a button per answer: it fits too.
        managing, page, problems = on_a_phone(chromium)
        log_in_browser(page, server.base, Role.MANAGER, "/compensation")
        assert page.locator("form[action$='/accept']").count() == 6
        fits(page)
        managing.close()
        assert problems == []
