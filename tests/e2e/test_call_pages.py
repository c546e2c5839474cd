"""The calls-cut-off worklist over HTTP, on SQLite and PostgreSQL: the API's order, filters (the
outage's link among them) and paging; working a call to an outcome; refusals on the page; the
viewer and forged POSTs refused."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from _web import T0, Web, client, log_in, web
from test_incident_room import SAME_ORIGIN, forms

from standby.access.roles import Role
from standby.customers.call_service import link_to_outages
from standby.store.engine import unit_of_work
from standby.store.tables import InterruptedCallRow, OutageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest


def call(n: int, *, queue: str = "billing", vulnerable: bool = False, minutes: int = 20) -> dict[str, Any]:
    """One call in progress as the telephony platform reports it, begun `minutes` before T0."""
    return {
        "call_id": f"c-{n}",
        "customer": f"Caller {n:02d}",
        "phone": f"+4477009{n:05d}",
        "queue": queue,
        "agent": "agent-7",
        "started_at": (T0 - timedelta(minutes=minutes)).isoformat(),
        "vulnerable": vulnerable,
    }


async def report(web: Web, client: httpx.AsyncClient, rows: list[dict[str, Any]]) -> list[int]:
    """Record the calls through the API, as the platform does; their numbers in row order."""
    answer = await client.post("/api/v1/calls", json=rows, headers=web.bearer(Role.MANAGER))
    assert answer.status_code == 200, answer.text
    ids: list[int] = answer.json()["ids"]
    return ids


def moving_down(web: Web) -> int:
    """The moving queue stopped five minutes before T0; the response pass links the calls it cut off."""
    with unit_of_work(web.factory) as session:
        outage = OutageRow(
            started_at=T0 - timedelta(minutes=5), detected_at=T0, classification="partial",
            peak_classification="partial", causes=["ivr"], components=["ivr"], sites=[], queues=["moving"],
            degraded_queues=[], history={"queues": ["moving"]}, summary="Moving line down", updated_at=T0,
        )  # fmt: skip
        session.add(outage)
        session.flush()
        assert link_to_outages(session, now=T0) == 3
        return outage.id


def shown(html: str) -> list[str]:
    """The callers listed, in order."""
    return re.findall(r'class="wl-name">([^<]+)<', html)


async def test_the_worklist_in_the_apis_order_filtered_and_paged(web: Web, client: httpx.AsyncClient) -> None:
    rows = [call(n) for n in range(1, 53)]
    rows += [call(n, queue="moving") for n in (53, 54, 55)]
    rows[9]["vulnerable"] = rows[54]["vulnerable"] = True  # Caller 10 and Caller 55
    await report(web, client, rows)
    outage = moving_down(web)
    await log_in(client, Role.AGENT)
    page = await client.get("/calls")
    assert page.status_code == 200, page.text
    names = shown(page.text)
    # Vulnerable first (Caller 55 was cut off earlier, by the outage), then the earliest cut off.
    assert len(names) == 50
    assert names[:5] == ["Caller 55", "Caller 10", "Caller 53", "Caller 54", "Caller 01"]
    assert "<strong>55</strong> open" in page.text and "<strong>0</strong> worked" in page.text
    first = page.text.split('id="call-', 2)[1]
    # Cut off at the outage's start, 10:25 in London, 15 minutes into a call begun at 10:10.
    assert "+447700900055" in first and "Mon 15 Jun 10:25" in first and "15 min into the call" in first
    assert "Moving home (sales)" in first and f'href="/outages/{outage}"' in first
    following = re.search(r'href="([^"]+)" id="wl-next"', page.text)
    assert following is not None and following.group(1) == "/calls?offset=50"
    rest = await client.get(following.group(1))
    assert shown(rest.text) == [f"Caller {n:02d}" for n in range(48, 53)]
    assert 'id="wl-next"' not in rest.text and 'href="/calls" id="wl-previous"' in rest.text

    async def names_for(query: str) -> list[str]:
        answer = await client.get(f"/calls?{query}")
        assert answer.status_code == 200, (query, answer.text[-2000:])
        return shown(answer.text)

    by_outage = await client.get(f"/calls?outage={outage}")
    assert shown(by_outage.text) == ["Caller 55", "Caller 53", "Caller 54"]
    assert f"Calls cut off by outage #{outage}" in by_outage.text
    assert "<strong>3</strong> open" in by_outage.text
    assert await names_for(f"outage={outage}&vulnerable=1") == ["Caller 55"]
    assert await names_for("vulnerable=1") == ["Caller 55", "Caller 10"]
    assert await names_for("queue=moving&state=open") == ["Caller 55", "Caller 53", "Caller 54"]
    assert await names_for("state=worked") == []


async def test_an_agent_works_calls_and_refusals_are_shown_on_the_worklist(
    web: Web, client: httpx.AsyncClient
) -> None:
    ada, bo, _moving = await report(web, client, [call(1), call(2), call(3, queue="moving")])
    await log_in(client, Role.AGENT)
    listing = (await client.get("/calls?queue=billing")).text
    assert forms(listing) == [f"/calls/{ada}/work", f"/calls/{bo}/work"]
    assert 'name="back" value="/calls?queue=billing"' in listing
    assert '<option value="called_back">Called back</option>' in listing

    async def work(call_id: int, data: dict[str, str]) -> httpx.Response:
        return await client.post(
            f"/calls/{call_id}/work", data={**data, "back": "/calls?queue=billing"}, headers=SAME_ORIGIN
        )

    tried = await work(ada, {"outcome": "no_answer"})
    assert tried.status_code == 303 and tried.headers["location"] == "/calls?queue=billing&done=tried"
    html = (await client.get(tried.headers["location"])).text
    assert "Attempt recorded" in html and "Last: No answer by agent" in html
    assert f"/calls/{ada}/work" in forms(html)  # still open: another try
    closed = await work(ada, {"outcome": "called_back", "notes": "all sorted"})
    html = (await client.get(closed.headers["location"])).text
    assert "Worked: the call is off the worklist." in html and "Called back by agent" in html
    assert "all sorted" in html and forms(html) == [f"/calls/{bo}/work"]
    with unit_of_work(web.factory) as session:
        row = session.get(InterruptedCallRow, ada)
        assert row is not None
        assert (row.state, row.outcome, row.worked_by) == ("worked", "called_back", "agent")

    cases = [
        (ada, {"outcome": "resolved"}, 409, "already worked to &#39;called_back&#39; by agent"),
        (bo, {"outcome": "napped"}, 400, "Unknown outcome &#39;napped&#39;: use one of called_back"),
        (bo, {"outcome": ""}, 400, "Outcome: choose one of called_back"),
        (bo, {"outcome": "resolved", "notes": "x" * 2001}, 400, "The notes are too long: 2001 characters"),
        (999999, {"outcome": "resolved"}, 404, "No call #999999"),
    ]
    for call_id, data, status, reason in cases:
        answer = await work(call_id, data)
        assert answer.status_code == status, (data, answer.text[-1500:])
        assert 'id="wl-error"' in answer.text and reason in answer.text, (reason, answer.text[-3000:])
        assert shown(answer.text) == ["Caller 02", "Caller 01"]  # the worklist it came from, filtered
    with unit_of_work(web.factory) as session:
        row = session.get(InterruptedCallRow, bo)
        assert row is not None and row.state == "open" and row.outcome is None


async def test_bad_filters_viewers_and_forged_posts(web: Web, client: httpx.AsyncClient) -> None:
    (ada,) = await report(web, client, [call(1)])
    await log_in(client, Role.MANAGER)
    for query, reason in {
        "state=lost": "State: &#39;lost&#39; is not one of open, worked",
        "outage=x": "Outage: &#39;x&#39; is not a number",
        "offset=-1": "Offset: &#39;-1&#39; is not a count",
        "vulnerable=perhaps": "is not yes or no",
    }.items():
        answer = await client.get(f"/calls?{query}")
        assert answer.status_code == 400 and reason in answer.text, (query, answer.text[-2000:])
        assert 'id="wl-none"' in answer.text
    async with web.client() as viewer:
        await log_in(viewer, Role.VIEWER)
        refused = await viewer.post(f"/calls/{ada}/work", data={"outcome": "resolved"}, headers=SAME_ORIGIN)
        assert refused.status_code == 403 and "does not allow this" in refused.text
    forged = await client.post(
        f"/calls/{ada}/work", data={"outcome": "resolved"}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403 and "cross-site" in forged.text
    with unit_of_work(web.factory) as session:
        row = session.get(InterruptedCallRow, ada)
        assert row is not None and row.state == "open"
