"""Every page behind the navigation bar, for each role, in a real browser (Debian's Chromium driven by
Playwright) at 390 px, on SQLite and PostgreSQL, during an outage: reached by the bar's phone Menu,
served (never a 4xx or 5xx for a page the bar offers), no sideways scrolling, no script errors and
no Content-Security-Policy violations; and a page the bar hides is refused by the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _browser import Server, chromium, fits, log_in_browser, on_a_phone
from _web import make_web
from sqlalchemy.orm import Session, sessionmaker
from test_incident_room import leeds_dark

from standby.access.roles import Role, allows
from standby.web.pages.navigation import ENTRIES

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium"]  # the fixture, imported for pytest


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT, Role.VIEWER])
def test_every_page_in_the_bar_opens_fits_a_phone_and_the_rest_are_refused(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path, role: Role
) -> None:
    web = make_web(session_factory, tmp_path)
    with Server(web.app) as server:
        leeds_dark(web, tmp_path, base_url=server.base)
        context, page, problems = on_a_phone(chromium, touch=False)
        log_in_browser(page, server.base, role)
        offered = [e for e in ENTRIES if allows(role, e.permission)]
        assert page.locator(".nav-narrow a").count() == len(offered)
        for entry in offered:
            page.click(".nav-narrow summary")
            with page.expect_response(lambda r, p=entry.path: r.url == f"{server.base}{p}") as answer:
                page.click(f".nav-narrow a[href='{entry.path}']")
            assert answer.value.status == 200, f"{role}: {entry.path} answered {answer.value.status}"
            page.wait_for_load_state()
            assert page.locator(".nav-narrow summary").inner_text().endswith(entry.label)
            fits(page)
        for entry in ENTRIES:
            if entry not in offered:
                refused = page.request.get(f"{server.base}{entry.path}")
                assert refused.status == 403, f"{role}: {entry.path} answered {refused.status}"
        context.close()
        assert problems == []
