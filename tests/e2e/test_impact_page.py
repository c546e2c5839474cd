"""The impact simulator page over HTTP, on SQLite and PostgreSQL: the form from the plan in force, a
small scenario run showing the report in the page, bad input shown on the form with the reason, an
uncovered outage refused unless asked, and the report's style sheet."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from _web import BASE, Web, client, log_in, web

from standby.access.roles import Role
from standby.plan.loading import reference_plan_text

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

SAME_ORIGIN = {"Origin": BASE}
SMALL = {"down": "acd", "at": "10:00", "minutes": "60", "replications": "2", "seed": "3"}


def text_of(page: httpx.Response) -> str:
    """The page's text without tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


def error_of(page: httpx.Response) -> str:
    found = re.search(r'role="alert" id="impact-error">(.*?)</p>', page.text, re.DOTALL)
    assert found is not None, text_of(page)
    return html.unescape(found.group(1))


async def test_the_form_offers_the_plans_components_and_its_day(client: httpx.AsyncClient) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.get("/impact")
    assert page.status_code == 200, page.text
    for cid in ("acd", "crm", "leeds-power", "trunk-a"):
        assert f'<input type="checkbox" name="down" value="{cid}" id="down-{cid}">' in page.text
    words = text_of(page)
    assert "From (time of day, Europe/London)" in words
    assert "The plan's forecast day runs from 08:00 to 20:00." in words
    assert 'id="impact-at" name="at" type="time" value="10:00"' in page.text
    assert 'id="impact-result"' not in page.text
    assert '<a href="/impact" aria-current="page">Impact</a>' in page.text


async def test_a_small_scenario_run_shows_the_report_in_the_page(client: httpx.AsyncClient) -> None:
    await log_in(client, Role.RESPONDER)
    page = await client.post("/impact", data=SMALL, headers=SAME_ORIGIN)
    assert page.status_code == 200, page.text
    assert '<article class="report" id="impact-report">' in page.text
    words = text_of(page)
    assert "An hour without CloudCX routing (ACD) from 10:00" in words
    assert "2 simulated days, seed 3" in words and "plan version 1" in words
    assert "Gas emergency line" in words and "Impact tolerances" in words
    assert page.text.count("<svg") >= 1 + 3 * 2 + 2  # the logo, two charts a queue, agents, cost
    # The page's policy allows no inline style: the report's sheet is linked, not inlined.
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "<style" not in page.text and " style=" not in page.text and "<script" not in page.text
    assert '<link rel="stylesheet" href="/impact/report.css">' in page.text
    # The form keeps what was asked, and the report can be opened as a file.
    assert 'value="acd" id="down-acd" checked' in page.text
    assert re.search(r'id="impact-seed" name="seed" [^>]*value="3"', page.text)
    link = re.search(r'<a href="([^"]+)" id="report-file">', page.text)
    assert link is not None
    report = await client.get(html.unescape(link.group(1)))
    assert report.status_code == 200 and "2 simulated days, seed 3" in text_of(report)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"down": "teleporter"}, "down: the plan has no component 'teleporter'"),
        ({"down": ""}, "down: choose at least one component that goes down"),
        ({"minutes": "0"}, "minutes: Input should be greater than 0"),
        ({"minutes": "an hour"}, "minutes: Input should be a valid integer"),
        ({"at": "23:00"}, "at: the outage starts at 23:00, outside the forecast day (08:00 to 20:00)"),
        ({"at": "19:30"}, "minutes: an outage of 60 minutes from 19:30 ends after the forecast day"),
        ({"replications": "500"}, "replications: Input should be less than or equal to 200"),
        ({"down": "leeds"}, "down: 'leeds' is a site, not a component"),
        ({"at": ""}, "at: Field required"),
    ],
)
async def test_bad_input_is_400_on_the_form_with_the_reason(
    client: httpx.AsyncClient, change: dict[str, str], reason: str
) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.post("/impact", data={**SMALL, **change}, headers=SAME_ORIGIN)
    assert page.status_code == 400, page.text
    said = error_of(page)
    assert reason.lower() in said.lower(), said
    assert 'id="impact-form"' in page.text and 'id="impact-result"' not in page.text
    for name in ("at", "minutes", "replications"):
        kept = {**SMALL, **change}[name]
        assert f'name="{name}" type="' in page.text and f'value="{html.escape(kept)}"' in page.text


async def test_an_outage_no_strategy_covers_is_refused_unless_asked(
    web: Web, client: httpx.AsyncClient
) -> None:
    text = reference_plan_text()
    strategies = text.index("# What the centre does to keep answering.")
    bare = text[:strategies] + text[text.index("# How long each queue") :]
    loaded = await client.post(
        "/api/v1/plan", content=bare, headers={**web.bearer(Role.MANAGER), "Content-Type": "text/yaml"}
    )
    assert loaded.status_code == 201, loaded.text
    await log_in(client, Role.VIEWER)
    refused = await client.post("/impact", data=SMALL, headers=SAME_ORIGIN)
    assert refused.status_code == 400
    assert "no strategy in the plan covers losing CloudCX routing (ACD)" in error_of(refused)
    allowed = await client.post("/impact", data={**SMALL, "uncovered": "1"}, headers=SAME_ORIGIN)
    assert allowed.status_code == 200, text_of(allowed)
    assert "plan version 2" in text_of(allowed)
    assert 'id="impact-uncovered" checked' in allowed.text
    assert "uncovered=true" in allowed.text


async def test_the_reports_style_sheet_styles_the_report_alone(client: httpx.AsyncClient) -> None:
    sheet = await client.get("/impact/report.css")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    css = re.sub(r"/\*.*?\*/", "", sheet.text, flags=re.DOTALL)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", css) for s in block.split(",")]
    rules = [s for s in selectors if s and not s.startswith("@") and not s.endswith("%")]
    outside = [s for s in rules if not s.startswith(".report")]
    assert rules and not outside, outside


async def test_a_forged_run_is_refused(client: httpx.AsyncClient) -> None:
    await log_in(client, Role.VIEWER)
    forged = await client.post("/impact", data=SMALL, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
