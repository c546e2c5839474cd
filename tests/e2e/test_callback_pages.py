"""The callbacks worklist and a callback's page over HTTP, on SQLite and PostgreSQL: filters and paging
in the agent's order, each hand action by an agent, the refusals shown on the page, the viewer and
forged POSTs refused, and the navigation bar showing these pages only to those who may open them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from _web import T0, Web, client, log_in, web
from sqlalchemy import select, update
from test_incident_room import SAME_ORIGIN, forms

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import CallbackEventRow, CallbackRow, MessageRow, OutageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

API = "/api/v1/callbacks"


def booking(n: int, *, hours: float, queue: str = "billing", vulnerable: bool = False) -> dict[str, Any]:
    """One callback row as the centre's systems send it, due `hours` after T0."""
    return {
        "customer": f"Customer {n:02d}",
        "phone": f"+4477009{n:05d}",
        "due_at": (T0 + timedelta(hours=hours)).isoformat(),
        "queue": queue,
        "vulnerable": vulnerable,
    }


async def book(web: Web, client: httpx.AsyncClient, rows: list[dict[str, Any]]) -> list[int]:
    """Book through the API's import, as the CRM does; the ids in row order."""
    answer = await client.post(API, json=rows, headers=web.bearer(Role.MANAGER))
    assert answer.status_code == 200, answer.text
    ids: list[int] = answer.json()["ids"]
    return ids


def caught(web: Web, ids: list[int]) -> int:
    """An outage that stopped billing, holding these callbacks, as the outage pass links them."""
    with unit_of_work(web.factory) as session:
        outage = OutageRow(
            started_at=T0, detected_at=T0, classification="partial", peak_classification="partial",
            causes=["ivr"], components=["ivr"], sites=[], queues=["billing"], degraded_queues=[],
            history={}, summary="IVR down", updated_at=T0,
        )  # fmt: skip
        session.add(outage)
        session.flush()
        session.execute(
            update(CallbackRow).where(CallbackRow.id.in_(ids)).values(outage_id=outage.id, state="flagged")
        )
        return outage.id


def shown(html: str) -> list[str]:
    """The customers listed, in order."""
    return re.findall(r'class="wl-name">([^<]+)<', html)


async def test_the_worklist_is_due_soonest_first_filtered_and_paged(
    web: Web, client: httpx.AsyncClient
) -> None:
    # Booked latest first: the worklist still starts with the soonest.
    rows = [booking(n, hours=60 - n) for n in range(1, 56)]
    rows[54]["vulnerable"] = True  # Customer 55, due soonest
    rows[53]["queue"] = "moving"
    ids = await book(web, client, rows)
    outage = caught(web, ids[:2])
    await log_in(client, Role.AGENT)
    page = await client.get("/callbacks")
    assert page.status_code == 200, page.text
    html = page.text
    names = shown(html)
    assert len(names) == 50 and names[:3] == ["Customer 55", "Customer 54", "Customer 53"]
    first = html.split('id="callback-', 2)[1]
    assert "+447700900055" in first and "Vulnerable" in first and "Billing and payments" in first
    # Due 10:30 UTC + 5 h = 15:30 in London (BST): the centre's time, not UTC.
    assert "Mon 15 Jun 15:30" in first and "scheduled" in first
    assert "Moving home (sales)" in html
    following = re.search(r'href="([^"]+)" id="wl-next"', html)
    assert following is not None
    rest = await client.get(following.group(1).replace("&amp;", "&"))
    assert shown(rest.text) == [f"Customer {n:02d}" for n in range(5, 0, -1)]
    assert 'id="wl-next"' not in rest.text and 'id="wl-first"' in rest.text

    async def names_for(query: str) -> list[str]:
        answer = await client.get(f"/callbacks?{query}")
        assert answer.status_code == 200, (query, answer.text[-2000:])
        return shown(answer.text)

    assert await names_for(f"outage={outage}") == ["Customer 02", "Customer 01"]
    assert await names_for(f"outage={outage}&state=flagged") == ["Customer 02", "Customer 01"]
    assert await names_for("vulnerable=1") == ["Customer 55"]
    assert await names_for("queue=moving") == ["Customer 54"]
    # 15:30 to 17:30 in London: due 5, 6 and 7 hours after T0.
    assert await names_for("due_after=2026-06-15T15:30&due_before=2026-06-15T17:30") == [
        "Customer 55",
        "Customer 54",
    ]
    with unit_of_work(web.factory) as session:
        session.execute(update(CallbackRow).where(CallbackRow.id == ids[54]).values(state="completed"))
    assert "Customer 55" not in await names_for("state=to_make")
    assert await names_for("state=completed") == ["Customer 55"]
    caught_page = (await client.get(f"/callbacks?outage={outage}")).text
    assert f"Callbacks caught by outage #{outage}" in caught_page
    assert f'href="/outages/{outage}"' in caught_page  # each callback links to its outage's page


async def test_bad_filters_are_shown_on_the_page_as_400(web: Web, client: httpx.AsyncClient) -> None:
    await book(web, client, [booking(1, hours=2)])
    await log_in(client, Role.AGENT)
    cases = {
        "state=lost": "State: &#39;lost&#39; is not one of to_make, scheduled",
        "outage=abc": "Outage: &#39;abc&#39; is not a number",
        "outage=0": "is not a number from 1",
        "vulnerable=maybe": "Vulnerable: &#39;maybe&#39; is not yes or no",
        "due_after=tomorrow": "Due_after: &#39;tomorrow&#39; is not a date and time",
        "after=nonsense": "After: &#39;nonsense&#39; is not a page of this list",
    }
    for query, reason in cases.items():
        answer = await client.get(f"/callbacks?{query}")
        assert answer.status_code == 400, query
        assert 'id="wl-error"' in answer.text and reason in answer.text, (query, answer.text[-3000:])
        assert 'id="wl-none"' in answer.text  # nothing listed under a filter that could not be read
    assert (await client.get("/callbacks/abc")).status_code == 422
    missing = await client.get("/callbacks/999999")
    assert missing.status_code == 404 and "No callback #999999" in missing.text


async def test_an_agent_confirms_moves_completes_and_cancels(web: Web, client: httpx.AsyncClient) -> None:
    ada, bo, cy = await book(web, client, [booking(1, hours=3), booking(2, hours=4), booking(3, hours=5)])
    await log_in(client, Role.AGENT)
    listing = (await client.get("/callbacks?queue=billing")).text
    assert forms(listing) == [
        f"/callbacks/{i}/{action}"
        for i in (ada, bo, cy)
        for action in ("confirm", "complete", "move", "cancel")
    ]
    assert 'name="back" value="/callbacks?queue=billing"' in listing

    async def act(path: str, data: dict[str, str], back: str = "/callbacks?queue=billing") -> str:
        answer = await client.post(path, data={**data, "back": back}, headers=SAME_ORIGIN)
        assert answer.status_code == 303, answer.text[-2000:]
        location = answer.headers["location"]
        assert location.startswith(back.split("?")[0])
        return (await client.get(location)).text

    html = await act(f"/callbacks/{ada}/confirm", {})
    assert "Confirmed: the customer agreed the time." in html
    assert f'id="confirm-{ada}"' not in html  # confirmed already
    html = await act(
        f"/callbacks/{bo}/move",
        {"due_at": "2026-06-16T09:00", "window_end": "2026-06-16T09:30", "reason": "asked for the morning"},
        back=f"/callbacks/{bo}",
    )
    assert "Moved: the customer is told the new time." in html
    assert "Tue 16 Jun 09:00" in html and "to 09:30" in html and "rescheduled" in html
    assert "asked for the morning" in html and "told the new time by sms" in html  # the history
    with unit_of_work(web.factory) as session:
        row = session.get(CallbackRow, bo)
        assert row is not None and row.due_at == T0.replace(day=16, hour=8, minute=0) and row.moves == 1
        moved = select(MessageRow.recipient).where(MessageRow.purpose.like("%callback%"))
        told = session.scalars(moved).all()
        assert told == ["+447700900002"]
    html = await act(f"/callbacks/{cy}/complete", {"notes": "sorted the bill"})
    assert "Completed: the call was made." in html
    html = await act(f"/callbacks/{ada}/cancel", {"reason": "customer paid online"})
    assert "Cancelled." in html
    with unit_of_work(web.factory) as session:
        states = {i: s for i, s in session.execute(select(CallbackRow.id, CallbackRow.state))}
        actors = set(session.scalars(select(CallbackEventRow.actor).where(CallbackEventRow.kind != "booked")))
    assert states == {ada: "cancelled", bo: "rescheduled", cy: "completed"}
    assert actors == {"agent"}
    detail = (await client.get(f"/callbacks/{cy}")).text
    assert "sorted the bill" in detail and forms(detail) == []  # final: nothing more to do


async def test_refusals_are_shown_on_the_page_with_the_reason(web: Web, client: httpx.AsyncClient) -> None:
    ada, bo = await book(web, client, [booking(1, hours=3), booking(2, hours=4)])
    await log_in(client, Role.RESPONDER)
    await client.post(f"/callbacks/{bo}/cancel", data={"reason": "duplicate"}, headers=SAME_ORIGIN)
    web.clock.set(T0 + timedelta(minutes=10))
    cases = [
        (f"/callbacks/{ada}/move", {"due_at": "2026-06-15T08:00", "reason": "asked"}, 400, "in the past"),
        (f"/callbacks/{ada}/move", {"due_at": "soon", "reason": "asked"}, 400, "is not a date and time"),
        (f"/callbacks/{ada}/move", {"due_at": "", "reason": "asked"}, 400, "Due_at: give the new date"),
        (f"/callbacks/{ada}/move", {"due_at": "2026-06-16T09:00", "reason": " "}, 400, "Reason: required"),
        (f"/callbacks/{ada}/cancel", {"reason": ""}, 400, "Reason: required: say why"),
        (f"/callbacks/{bo}/complete", {}, 409, f"Callback #{bo} was cancelled"),
        (f"/callbacks/{bo}/confirm", {}, 409, "it is final"),
        ("/callbacks/999999/complete", {}, 404, "No callback #999999"),
    ]
    for back in ("/callbacks?state=to_make", f"/callbacks/{ada}"):
        for path, data, status, reason in cases:
            answer = await client.post(path, data={**data, "back": back}, headers=SAME_ORIGIN)
            assert answer.status_code == status, (path, data, answer.text[-1500:])
            assert 'id="wl-error"' in answer.text, (path, answer.text[-3000:])
            assert reason in answer.text, (path, reason, answer.text[-3000:])
            if back.startswith(f"/callbacks/{ada}"):
                assert '<h2 id="history-title">History</h2>' in answer.text  # the callback's own page
            else:
                assert "Customer 01" in answer.text and "Customer 02" not in answer.text  # the list, filtered
    # A `back` off the site is not followed: the worklist instead.
    answer = await client.post(
        f"/callbacks/{ada}/confirm", data={"back": "https://evil.example/x"}, headers=SAME_ORIGIN
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/callbacks?done=confirmed"
    with unit_of_work(web.factory) as session:
        row = session.get(CallbackRow, ada)
        assert row is not None and row.state == "confirmed" and row.moves == 0


async def test_viewers_cannot_open_or_work_the_worklists_and_the_nav_hides_them(
    web: Web, client: httpx.AsyncClient
) -> None:
    (ada,) = await book(web, client, [booking(1, hours=3)])
    await log_in(client, Role.VIEWER)
    for page in ("/callbacks", f"/callbacks/{ada}", "/calls", "/compensation"):
        refused = await client.get(page)
        assert refused.status_code == 403 and "does not allow this" in refused.text, page
    overview = (await client.get("/")).text
    for page in ("/callbacks", "/calls", "/compensation", "/outcomes"):
        assert f'href="{page}"' not in overview, page
    for path, data in (
        (f"/callbacks/{ada}/confirm", {}),
        (f"/callbacks/{ada}/complete", {}),
        (f"/callbacks/{ada}/move", {"due_at": "2026-06-16T09:00", "reason": "x"}),
        (f"/callbacks/{ada}/cancel", {"reason": "x"}),
    ):
        refused = await client.post(path, data=data, headers=SAME_ORIGIN)
        assert refused.status_code == 403 and "does not allow this" in refused.text, path
    async with web.client() as agent:
        await log_in(agent, Role.AGENT)
        nav = (await agent.get("/callbacks")).text
        for page in ("/callbacks", "/calls", "/outcomes", "/compensation"):
            assert f'href="{page}"' in nav, page
        assert '<a href="/callbacks" aria-current="page">' in nav
        # The agent's own cookie, from another site's form: refused.
        forged = await agent.post(
            f"/callbacks/{ada}/complete", data={}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403 and "cross-site" in forged.text
    with unit_of_work(web.factory) as session:
        row = session.get(CallbackRow, ada)
        assert row is not None and row.state == "scheduled"
    # No inline script, style or handler: the Content-Security-Policy allows none.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", nav)
