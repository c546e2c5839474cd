"""The agents' outcome page in a real browser (Debian's Chromium driven by Playwright), against a
real server on 127.0.0.1, on SQLite and PostgreSQL: nothing typed is lost when the connection
drops, and nothing is stored twice when an answer is lost.

Without Chromium or Playwright the tests skip with a message, unless CI=true,
STANDBY_REQUIRE_BROWSER=1 or STANDBY_REQUIRE_POSTGRES=1, when they fail.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from _web import PASSWORD, seed_plan, seed_users
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.config import Settings
from standby.store.engine import unit_of_work
from standby.store.tables import OutcomeRow
from standby.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 20_000
PENDING = "standby.outcomes.pending"


def browser_required() -> bool:
    """Whether a missing browser fails the run rather than skipping it."""
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("STANDBY_REQUIRE_BROWSER") == "1"
        or os.environ.get("STANDBY_REQUIRE_POSTGRES") == "1"
    )


def _missing(message: str) -> None:
    if browser_required():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless (never a downloaded one: `playwright install` is not needed)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]'); the browser tests need it")
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium not found at {CHROMIUM} (Debian package chromium); the browser tests need it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def served(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[str]:
    """Standby's web app served by uvicorn on a free port in a thread; stops after the test."""
    seed_users(session_factory)
    seed_plan(session_factory)
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    app = create_app(settings, clock=SystemClock(), session_factory=session_factory)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def browsing(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile the size of a small phone."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
    context.set_default_timeout(WAIT_MS)
    try:
        yield context
    finally:
        context.close()


def outcomes(factory: sessionmaker[Session]) -> list[OutcomeRow]:
    with unit_of_work(factory) as session:
        return list(session.scalars(select(OutcomeRow).order_by(OutcomeRow.id)))


def until(page: Page, condition: Callable[[], object], what: str) -> None:
    """Wait for `condition`, letting Playwright work meanwhile (route handlers run only then)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


def sign_in(page: Page, base: str) -> None:
    """Open the outcome page: it sends us to log in and back."""
    page.goto(f"{base}/outcomes")
    page.wait_for_url(f"{base}/login?next=%2Foutcomes")
    page.fill("#username", "agent")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/outcomes")


def log(page: Page, customer: str, *, phone: str = "07700 900123", follow_up: bool = False) -> None:
    page.fill("#customer", customer)
    page.fill("#phone", phone)
    page.select_option("#queue", "billing")
    page.fill("#reason", f"{customer} asked about a bill")
    page.fill("#outcome", "Explained it; no charge")
    if follow_up:
        page.check("#follow_up")
    page.click("#outcome-form button[type=submit]")


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions (imported late: without Playwright the tests skip)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def status(page: Page, text: str) -> None:
    expect(page.locator("#sync")).to_contain_text(text)


def stored_in_browser(page: Page) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(page.evaluate(f"localStorage.getItem('{PENDING}') || '[]'"))
    return entries


def test_outcomes_typed_offline_are_kept_and_arrive_once_back_online(
    browsing: BrowserContext, served: str, session_factory: sessionmaker[Session]
) -> None:
    page = browsing.new_page()
    sign_in(page, served)
    # A phone's screen: nothing wider than it.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    log(page, "Online One", follow_up=True)
    status(page, "All sent")
    log(page, "Online Two")
    status(page, "All sent")
    until(page, lambda: len(outcomes(session_factory)) == 2, "the two outcomes logged online")

    browsing.set_offline(True)
    for name in ("Offline One", "Offline Two", "Offline Three"):
        log(page, name)
    status(page, "3 waiting to send")
    kept = stored_in_browser(page)
    assert [e["body"]["customer"] for e in kept] == ["Offline One", "Offline Two", "Offline Three"]
    assert all(e["body"]["agent"] == "agent" and e["body"]["logged_at"] for e in kept)
    page.wait_for_timeout(1000)  # give a wrongly eager page the chance to send them anyway
    assert len(outcomes(session_factory)) == 2

    browsing.set_offline(False)
    status(page, "All sent")
    rows = outcomes(session_factory)
    assert [r.customer for r in rows] == [
        "Online One", "Online Two", "Offline One", "Offline Two", "Offline Three",
    ]
    assert [r.client_id for r in rows[2:]] == [e["body"]["client_id"] for e in kept]
    uuid4 = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert all(re.fullmatch(uuid4, r.client_id) for r in rows)  # crypto.randomUUID
    assert rows[0].follow_up and not rows[1].follow_up
    assert all(r.phone == "+447700900123" and r.queue == "billing" and r.agent == "agent" for r in rows)
    assert all(r.received_by == "user:agent" for r in rows)
    # Typed while offline, stored later: the time kept is when it was typed.
    assert all(r.logged_at <= r.received_at for r in rows)
    assert stored_in_browser(page) == []
    assert page.locator("#sent li").count() == 5


def test_an_answer_lost_after_storing_is_resent_and_still_stored_once(
    browsing: BrowserContext, served: str, session_factory: sessionmaker[Session]
) -> None:
    page = browsing.new_page()
    sign_in(page, served)
    lost: list[int] = []

    def lose_the_answer(route: Route) -> None:
        answer = route.fetch()  # the server gets it, stores it and answers...
        lost.append(answer.status)
        route.abort("connectionreset")  # ...and the answer never reaches the page

    page.route("**/api/v1/outcomes", lose_the_answer)
    log(page, "Lost Answer")
    until(page, lambda: lost, "the request to reach the server")
    assert lost[0] == 200
    status(page, "1 waiting to send")
    assert len(outcomes(session_factory)) == 1
    page.unroute("**/api/v1/outcomes")
    page.reload()  # a page opened again sends what it still holds
    status(page, "All sent")
    rows = outcomes(session_factory)
    assert [r.customer for r in rows] == ["Lost Answer"]
    expect(page.locator("#sent li").first).to_contain_text("already there")


def test_a_refused_entry_is_kept_for_correcting_and_a_lost_sign_in_keeps_everything(
    browsing: BrowserContext, served: str, session_factory: sessionmaker[Session]
) -> None:
    # As on a plain-http address, where browsers offer no crypto.randomUUID.
    browsing.add_init_script("Object.defineProperty(Crypto.prototype, 'randomUUID', {value: undefined})")
    page = browsing.new_page()
    sign_in(page, served)
    log(page, "Wrong Number", phone="0123")
    status(page, "1 waiting to send (1 to correct)")
    entry = page.locator("#pending li")
    expect(entry).to_contain_text("phone: not a phone number")
    assert outcomes(session_factory) == []
    entry.get_by_role("button", name="Correct").click()
    expect(page.locator("#phone")).to_have_value("0123")
    page.fill("#phone", "07700 900124")
    page.click("#outcome-form button[type=submit]")
    status(page, "All sent")
    (row,) = outcomes(session_factory)
    assert (row.customer, row.phone) == ("Wrong Number", "+447700900124")
    assert re.fullmatch("[0-9a-f]{32}", row.client_id)  # made with getRandomValues

    # Signed out (the session ended): entries stay, and the page says to sign in again.
    browsing.clear_cookies()
    log(page, "After Sign Out")
    expect(page.locator("#signin")).to_be_visible()
    status(page, "1 waiting to send")
    page.click("#signin a")
    page.wait_for_url(f"{served}/login?next=%2Foutcomes")
    page.fill("#username", "agent")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/outcomes")
    status(page, "All sent")
    expect(page.locator("#signin")).to_be_hidden()
    assert [r.customer for r in outcomes(session_factory)] == ["Wrong Number", "After Sign Out"]
