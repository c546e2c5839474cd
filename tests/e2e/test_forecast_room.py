"""The forecast in the incident room, on SQLite and PostgreSQL: over HTTP, the table of options with
the recommended one and its reason, the breach-countdown chart and the estimate form (refusals shown
in the page, a viewer without it); in Chromium at 390 px, it fits, with no script or CSP errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from _browser import PHONE, Server, chromium, fits, log_in_browser, on_a_phone
from _web import Web, client, log_in, make_web, web
from sqlalchemy.orm import Session, sessionmaker
from test_incident_room import SAME_ORIGIN, incident, leeds_dark
from test_incident_room_centre import element_text

from standby.access.roles import Role
from standby.forecast.runner import refresh
from standby.forecast.service import latest
from standby.store.engine import unit_of_work

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["chromium", "client", "incident", "web"]  # fixtures, imported for pytest

REPLICATIONS = 4


@pytest.mark.anyio
async def test_the_room_shows_the_forecast_and_takes_the_estimate(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    await log_in(client, Role.RESPONDER)
    room = f"/incidents/{incident}"
    waiting = (await client.get(room)).text
    assert "The first forecast is being made" in element_text(waiting, "forecast-advice")

    made = refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS)
    assert made is not None
    html = (await client.get(room)).text
    advice = element_text(html, "forecast-advice")
    assert advice.startswith("Recommended: ") and made["reason"] in advice
    for option in made["options"]:
        row = element_text(html, re.escape(f"option-{option['id']}"))  # option ids hold a plus sign
        sixty = option["lasting"]["60"]
        cost = f"£{sixty['cost']['mean']:,.0f}"
        assert cost in row, (cost, row)
        kept = (
            "kept"
            if not sixty["breaches"]
            else f"{sixty['breaches']} breached, first {sixty['first_breach_at']}"
        )
        assert kept in row
        between = sixty["first_breach_between"]
        if sixty["breaches"] and between["low"] != between["high"]:  # its 95% interval, after it
            assert f"({between['low'] or 'now'} to {between['high'] or 'maybe never'})" in row
        if not sixty["breaches"] and sixty["may_breach_from"]:
            assert f"may breach from {sixty['may_breach_from']}" in row
    assert f'<tr id="option-{made["recommended"]}" class="recommended">' in html
    assert "Nothing more" in element_text(html, "option-none")
    start = html.index('<svg id="forecast-chart"')
    chart = html[start : html.index("</svg>", start)]
    assert chart.count("<rect ") == len(made["options"]) and "style=" not in chart

    refused = await client.post(f"{room}/estimate", data={"minutes": "soon"}, headers=SAME_ORIGIN)
    assert refused.status_code == 400, refused.text
    shown = element_text(refused.text, "room-error")
    assert "Minutes: a whole number of minutes from now, such as 45" in shown
    too_long = await client.post(f"{room}/estimate", data={"minutes": "5000"}, headers=SAME_ORIGIN)
    assert too_long.status_code == 400 and "1 to 1440" in too_long.text
    done = await client.post(f"{room}/estimate", data={"minutes": "45"}, headers=SAME_ORIGIN)
    assert done.status_code == 303 and done.headers["location"].endswith("#forecast")
    with unit_of_work(web.factory) as session:
        assert latest(session, incident_id=incident).estimate_minutes == 45
    refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS)
    html = (await client.get(done.headers["location"])).text
    assert "Estimate kept" in html and "<th>45 min</th>" in html and 'value="45"' in html
    assert "if it lasts 45 more minutes" in element_text(html, "forecast-advice")

    async with web.client() as viewer:
        await log_in(viewer, Role.VIEWER)
        seen = (await viewer.get(room)).text
        assert 'id="forecast-table"' in seen and 'id="estimate-form"' not in seen
        assert "The commander's estimate: 45 more minutes" in seen
        forged = await viewer.post(f"{room}/estimate", data={"minutes": "30"}, headers=SAME_ORIGIN)
        assert forged.status_code == 403


def test_the_forecast_fits_a_phone(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    server = Server(web.app)
    server.start()
    try:
        incident_id = leeds_dark(web, tmp_path, base_url=server.base)
        refresh(web.factory, web.clock, incident_id=incident_id, replications=REPLICATIONS)
        context, page, problems = on_a_phone(chromium, touch=False)
        log_in_browser(page, server.base, Role.MANAGER, f"/incidents/{incident_id}")
        page.locator("#forecast").scroll_into_view_if_needed()
        assert page.locator("#forecast-table tr.recommended").count() == 1
        box = page.locator("#forecast-chart").bounding_box()
        assert box is not None and 0 < box["width"] <= PHONE["width"]
        fits(page)
        page.fill("#estimate-minutes", "30")
        page.click("#estimate-form button")
        page.wait_for_selector("#room-done:has-text('Estimate kept')")
        fits(page)
        assert problems == []
        context.close()
    finally:
        server.stop()
