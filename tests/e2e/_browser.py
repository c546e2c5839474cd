"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright, the app served on
127.0.0.1, a phone-sized page that collects script and console errors, and the login by form.

Without Chromium or Playwright the tests skip with a message, unless CI=true,
STANDBY_REQUIRE_BROWSER=1 or STANDBY_REQUIRE_POSTGRES=1, when they fail.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _web import PASSWORD, Served
from starlette.types import ASGIApp, Receive, Scope, Send

from standby.access.roles import Role

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

# Debian's headless build of Chromium (package chromium-headless-shell): the same Blink and
# V8 as /usr/bin/chromium without the desktop browser around them, and what Playwright itself
# runs for headless tests. Half the CPU of the full browser in headless mode (the browser
# tests: 112 s of the machine's CPU against 216 s), which the 2-core suite is bound by.
# The full browser serves where only it is installed.
CHROMIUMS = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 20_000


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


@pytest.fixture(scope="session")
def chromium_process() -> Iterator[tuple[Browser, asyncio.AbstractEventLoop | None]]:
    """Debian's Chromium, its headless shell, launched once per test process, with Playwright's event loop.

    Never a downloaded one: `playwright install` is not needed. Once per process, not per
    module: the tests of a module are spread over the workers among other modules' tests,
    and a module's browser was launched again each time a worker came back to one of its
    tests (about 1.7 s of CPU a launch). Each test gets it through `chromium`, which leaves
    nothing of the test's behind.

    Playwright's sync API marks its own event loop as the thread's running loop between its
    calls; another test's `asyncio.run` (or anyio's) would then refuse to start. The mark is
    taken off here and put back only while a browser test runs.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]'); the browser tests need it")
    found = next((path for path in CHROMIUMS if Path(path).exists()), None)
    if found is None:
        _missing(
            f"Chromium not found at {' or '.join(CHROMIUMS)} (Debian package chromium-headless-shell);"
            " the browser tests need it"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=found, args=ARGS, timeout=30_000)
        loop = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            yield browser, loop
        finally:
            asyncio.events._set_running_loop(loop)
            browser.close()


@pytest.fixture
def chromium(chromium_process: tuple[Browser, asyncio.AbstractEventLoop | None]) -> Iterator[Browser]:
    """The process's Chromium for one test: every browser profile the test opened is closed after it."""
    browser, loop = chromium_process
    asyncio.events._set_running_loop(loop)
    try:
        yield browser
    finally:
        try:
            for context in browser.contexts:
                context.close()
        finally:
            asyncio.events._set_running_loop(None)


class Server(Served):
    """Standby's web app under uvicorn on 127.0.0.1 in a thread, which a test may stop and start again.

    Always on the same port: the page's origin (its storage, its service worker) depends on it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.heard: list[str] = []  # "GET /outcomes": each request that reached the server

        # A plain coroutine function, which uvicorn recognises as ASGI 3 (a bound method it would not).
        async def listen(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                self.heard.append(f"{scope['method']} {scope['path']}")
            await app(scope, receive, send)

        super().__init__(listen)


PHONE: ViewportSize = {"width": 390, "height": 844}
# What sticks out past the screen's right edge, to say why a page is too wide.
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return false; }
    return true; })
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def watched(context: BrowserContext) -> tuple[Page, list[str]]:
    """A new page whose script errors and console errors (CSP violations among them) are collected."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    return page, problems


def on_a_phone(chromium: Browser, *, touch: bool = True) -> tuple[BrowserContext, Page, list[str]]:
    """A fresh browser profile the size of a phone, and a watched page in it."""
    context = chromium.new_context(viewport=PHONE, has_touch=touch)
    context.set_default_timeout(WAIT_MS)
    page, problems = watched(context)
    return context, page, problems


def fits(page: Page) -> None:
    """No sideways scrolling at the phone's width."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(WIDEST) if width > PHONE["width"] else []
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']} px: {wide}"


def submit_login(page: Page, role: Role) -> None:
    """On the login form: sign in as `role`'s user (its password is PASSWORD)."""
    page.fill("#username", role.value)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")


def log_in_browser(page: Page, base: str, role: Role, next: str = "/") -> None:
    """Sign in as `role`'s user through the login form and land on `next` (a path)."""
    page.goto(f"{base}/login?next={next}")
    submit_login(page, role)
    page.wait_for_url(f"{base}{next}")
