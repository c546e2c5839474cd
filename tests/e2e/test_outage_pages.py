"""The outages pages over HTTP, on SQLite and PostgreSQL: the list (open ones first, what each hits,
its times in the plan's zone, its incident, paging) and one outage (causes, what they take down,
the history of its class, its incident); an unknown outage is the 404 page; read-only."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _web import T0, Web, client, log_in, web
from sqlalchemy import select
from test_api_outages import fail_components
from test_incident_list_pages import listed as list_rows
from test_incident_list_pages import row as list_row
from test_incident_room import respond

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, OutageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest


def listed(html: str) -> list[int]:
    """The outage numbers of the page's rows, in order."""
    return list_rows(html, "outage")


def row(html: str, outage_id: int) -> str:
    """The cells of the outage's row."""
    return list_row(html, outage_id, "outage")


def incident_of(web: Web, outage_id: int) -> int | None:
    with unit_of_work(web.factory) as session:
        return session.scalar(select(IncidentRow.id).where(IncidentRow.outage_id == outage_id))


def outage_ids(web: Web) -> list[int]:
    with unit_of_work(web.factory) as session:
        return list(session.scalars(select(OutageRow.id).order_by(OutageRow.id)))


async def test_the_list_shows_open_outages_first_with_what_each_hits_and_its_incident(
    web: Web, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    fail_components(web, "crm")
    respond(web, tmp_path, 0.5)  # the worker opens the outage's incident
    fail_components(web, "trunk-a", minutes=1)
    fail_components(web, minutes=2, up=("trunk-a",))  # ended before the worker saw it: no incident
    crm, trunk = outage_ids(web)
    incident = incident_of(web, crm)
    assert incident is not None and incident_of(web, trunk) is None
    web.clock.set(T0 + timedelta(minutes=47))
    await log_in(client, Role.AGENT)
    page = await client.get("/outages")
    assert page.status_code == 200, page.text
    assert listed(page.text) == [crm, trunk]  # the open one first, though older
    ongoing = row(page.text, crm)
    assert f'<a href="/outages/{crm}" class="outage-link">#{crm}</a>' in ongoing
    assert '<span class="pill tone-down">partial</span>' in ongoing
    assert '<li class="cause" title="crm">Customer records (CRM)</li>' in ongoing
    assert '<li class="" title="moving">Moving home (sales)</li>' in ongoing  # the queue it hits
    # T0 is 09:30 UTC, 10:30 in the plan's zone (Europe/London, summer time).
    assert "Mon 15 Jun 10:30" in ongoing and "ongoing</strong>, 47 minutes so far" in ongoing
    assert f'<a href="/incidents/{incident}">#{incident}</a>' in ongoing
    ended = row(page.text, trunk)
    assert "SIP trunk, Carrier A" in ended
    assert "Mon 15 Jun 10:31 to Mon 15 Jun 10:32" in ended and "lasted 1 minute" in ended
    assert '<td data-label="Incident"><span class="muted">none</span></td>' in ended
    assert 'aria-current="page">Outages</a>' in page.text
    assert 'id="older"' not in page.text
    assert "<form" not in page.text.replace('<form method="post" action="/logout" class="logout">', "")


async def test_one_outage_shows_its_causes_what_they_take_down_and_the_history_of_its_class(
    web: Web, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    fail_components(web, "trunk-a")
    fail_components(web, "trunk-b", minutes=1)  # both carriers: nothing is answered
    respond(web, tmp_path, 1.5)
    fail_components(web, minutes=3, up=("trunk-a",))
    fail_components(web, minutes=20, up=("trunk-b",))
    (outage,) = outage_ids(web)
    incident = incident_of(web, outage)
    assert incident is not None
    await log_in(client, Role.VIEWER)
    page = await client.get(f"/outages/{outage}")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<span class="pill tone-degraded" id="outage-class">degraded</span>' in html
    assert '<span class="pill tone-unknown">at worst total</span>' in html
    assert "Mon 15 Jun 10:30 (Europe/London)" in html and "<dd>20 minutes</dd>" in html
    assert f'<a href="/incidents/{incident}">Incident #{incident}</a>' in html
    assert '<li class="cause" title="trunk-b">SIP trunk, Carrier B</li>' in html
    touched = html[html.index("Everything it touched") :]
    for name in ("SIP trunk, Carrier A", "Session border controller", "Gas emergency line", "Moving home"):
        assert name in touched, name
    history = re.findall(
        r'<span class="muted">([^<]+)</span>\s*<span><strong>(\w+)</strong> '
        r'<span class="pill tone-\w+">(\w+)</span>'
        r'(?: <span class="small">\(was (\w+)\)</span>)?',
        html,
    )
    assert history == [
        ("Mon 15 Jun 10:30", "Opened", "degraded", ""),
        ("Mon 15 Jun 10:31", "Changed", "total", "degraded"),
        ("Mon 15 Jun 10:33", "Changed", "degraded", "total"),
        ("Mon 15 Jun 10:50", "Ended", "degraded", ""),
    ]
    assert 'aria-current="page">Outages</a>' in html
    assert "<form" not in html.replace('<form method="post" action="/logout" class="logout">', "")
    listing = await client.get("/outages")
    assert f'<a href="/incidents/{incident}">#{incident}</a>' in row(listing.text, outage)


async def test_fifty_a_page_open_ones_first(web: Web, client: httpx.AsyncClient) -> None:
    with unit_of_work(web.factory) as session:
        for n in range(53):
            started = T0 + timedelta(minutes=n)
            session.add(
                OutageRow(
                    started_at=started,
                    detected_at=started,
                    classification="degraded",
                    peak_classification="degraded",
                    causes=["crm"],
                    components=["crm"],
                    sites=[],
                    queues=[],
                    degraded_queues=["moving"],
                    history={},
                    summary=f"CRM slow, time {n}",
                    updated_at=started,
                    ended_at=None if n in (2, 9) else started + timedelta(minutes=5),
                )
            )
    ids = outage_ids(web)
    still_open = [ids[9], ids[2]]
    ended = [i for i in reversed(ids) if i not in still_open]
    await log_in(client, Role.VIEWER)
    first = await client.get("/outages")
    assert listed(first.text) == [*still_open, *ended[:48]]
    assert "degraded:" in row(first.text, ids[9])  # the queues it degrades
    older = re.search(r'<a href="([^"]+)" id="older"', first.text)
    assert older is not None and older.group(1) == f"/outages?before=closed-{ended[47]}"
    second = await client.get(older.group(1))
    assert listed(second.text) == ended[48:]
    assert 'id="older"' not in second.text and '<a href="/outages" id="newest">' in second.text
    from_open = await client.get(f"/outages?before=open-{ids[9]}")
    assert listed(from_open.text)[:2] == [ids[2], ended[0]]


@pytest.mark.parametrize("address", ["/outages/999", "/outages/0", "/outages/abc", "/outages/99999999999"])
async def test_an_unknown_outage_is_the_404_page(web: Web, client: httpx.AsyncClient, address: str) -> None:
    fail_components(web, "crm")
    await log_in(client, Role.VIEWER)
    page = await client.get(address)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "No outage" in page.text


async def test_a_bad_page_mark_is_a_400_page(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.get("/outages?before=page-2")
    assert page.status_code == 400
    assert "Before: &#39;page-2&#39; is not a page mark" in page.text


async def test_the_outages_pages_need_a_login(web: Web, client: httpx.AsyncClient) -> None:
    for address in ("/outages", "/outages/1"):
        page = await client.get(address)
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
