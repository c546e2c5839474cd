"""The incidents list over HTTP, on SQLite and PostgreSQL: open ones first, each filter, paging, bad
filters as 400 pages, declaring by hand (a responder lands in the room; refusals shown with the form
as typed), a viewer with no form whose forged POST is refused, and a cross-site POST refused."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _web import BASE, T0, Web, client, log_in, make_web, web
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from test_deadlines_delivery import a_total_outage_told_to_the_regulator

from standby.access.roles import Role
from standby.config import Settings
from standby.plan.versions import current_plan
from standby.respond.incident_service import assign, declare, transition
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

SAME_ORIGIN = {"Origin": BASE}


def declared(web: Web, *titles: tuple[str, str], minutes: float = 0) -> list[int]:
    """Incidents declared as a script would, one a minute from T0 + minutes: (title, class) each."""
    ids = []
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        for n, (title, classification) in enumerate(titles):
            record = declare(
                session,
                title=title,
                classification=classification,
                plan=plan,
                by="user:manager",
                now=T0 + timedelta(minutes=minutes + n),
            )
            ids.append(record.id)
    return ids


def resolve(web: Web, incident_id: int, minutes: float) -> None:
    with unit_of_work(web.factory) as session:
        transition(
            session,
            incident_id=incident_id,
            to="resolved",
            by="user:manager",
            now=T0 + timedelta(minutes=minutes),
            note="fixed",
        )


def listed(html: str, kind: str = "incident") -> list[int]:
    """The numbers of the list's rows (incidents, or outages), in order."""
    return [int(n) for n in re.findall(rf'<tr class="is-(?:open|closed)" id="{kind}-(\d+)"', html)]


def row(html: str, number: int, kind: str = "incident") -> str:
    """The cells of one row of the list (an incident's, or an outage's)."""
    found = re.search(rf'<tr class="[^"]*" id="{kind}-{number}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row for {kind} {number}"
    return found.group(1)


def count_incidents(web: Web) -> int:
    with unit_of_work(web.factory) as session:
        return int(session.scalar(select(func.count()).select_from(IncidentRow)) or 0)


async def test_open_incidents_come_first_then_the_rest_newest_first_with_what_each_row_says(
    web: Web, client: httpx.AsyncClient
) -> None:
    old, middle, new = declared(
        web, ("Phones dead in Leeds", "total"), ("CRM slow", "degraded"), ("Payments page failing", "partial")
    )
    resolve(web, new, minutes=5)
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        assign(
            session,
            incident_id=old,
            role="commander",
            person="amara",
            by="user:manager",
            now=T0 + timedelta(minutes=3),
            plan=plan,
        )
        transition(
            session, incident_id=old, to="acknowledged", by="user:manager", now=T0 + timedelta(minutes=4)
        )
    web.clock.set(T0 + timedelta(hours=2, minutes=10))
    await log_in(client, Role.VIEWER)
    page = await client.get("/incidents")
    assert page.status_code == 200, page.text
    assert listed(page.text) == [middle, old, new]  # open ones newest first, then the resolved one
    first = row(page.text, old)
    assert f'<a href="/incidents/{old}" class="incident-link">#{old}</a>' in first
    assert "Phones dead in Leeds" in first and ">SEV1<" in first and ">total<" in first
    assert "<strong>acknowledged</strong>" in first
    # T0 is 09:30 UTC: 10:30 in the plan's zone (Europe/London, summer time).
    assert "Mon 15 Jun 10:30" in first and "2 hours 10 minutes ago" in first
    assert "Amara Okafor" in first and "Mon 15 Jun 10:34" in first
    waiting = row(page.text, middle)
    assert ">SEV3<" in waiting and ">degraded<" in waiting and "not yet: paging" in waiting
    assert "none yet" in waiting
    done = row(page.text, new)
    # Resolved while it was paged: moving it on acknowledged it.
    assert ">resolved<" in done and "<strong>resolved</strong>" not in done
    assert "✓</span> Mon 15 Jun 10:35" in done
    assert 'aria-current="page">Incidents</a>' in page.text  # the navigation bar marks the page
    assert "Europe/London" in page.text
    assert 'id="older"' not in page.text


async def test_each_filter_narrows_the_list(web: Web, client: httpx.AsyncClient) -> None:
    leeds, crm, payments, odd = declared(
        web,
        ("Phones dead in LEEDS", "total"),
        ("CRM slow", "degraded"),
        ("Payments page failing", "partial"),
        ("100% of chats lost_in_queue", "partial"),
    )
    resolve(web, payments, minutes=9)
    with unit_of_work(web.factory) as session:
        transition(
            session, incident_id=crm, to="diagnosing", by="user:manager", now=T0 + timedelta(minutes=8)
        )
    await log_in(client, Role.AGENT)

    async def ids(query: str) -> list[int]:
        page = await client.get(f"/incidents?{query}")
        assert page.status_code == 200, (query, page.text)
        return listed(page.text)

    assert await ids("") == [odd, crm, leeds, payments]
    assert await ids("state=all") == [odd, crm, leeds, payments]
    assert await ids("state=open") == [odd, crm, leeds]
    assert await ids("state=closed") == [payments]
    assert await ids("state=resolved") == [payments]
    assert await ids("state=diagnosing") == [crm]
    assert await ids("state=detected") == [odd, leeds]
    assert await ids("state=reviewed") == []
    assert await ids("severity=1") == [leeds]
    assert await ids("severity=SEV2") == [odd, payments]
    assert await ids("severity=4") == []
    assert await ids("class=degraded") == [crm]
    assert await ids("class=partial") == [odd, payments]
    assert await ids("q=leeds") == [leeds]  # any case
    assert await ids("q=%25") == [odd]  # the wildcards of SQL are plain characters here
    assert await ids("q=lost_in") == [odd]
    assert await ids("q=o_t") == []  # "lost" would match o_t as a pattern
    assert await ids("state=open&class=partial&q=chats") == [odd]
    page = await client.get("/incidents?state=open&severity=1")
    assert '<option value="open" selected>' in page.text and '<option value="1" selected>' in page.text
    assert '<a href="/incidents">Clear</a>' in page.text
    empty = await client.get("/incidents?q=nothing+like+this")
    assert "No incident matches these filters." in empty.text


async def test_fifty_a_page_open_ones_first_and_the_older_link_keeps_the_filter(
    web: Web, client: httpx.AsyncClient
) -> None:
    ids = declared(web, *[(f"Incident number {n}", "degraded") for n in range(57)])
    closed = ids[:5]  # the five oldest are resolved: the last page
    for n, incident_id in enumerate(closed):
        resolve(web, incident_id, minutes=100 + n)
    await log_in(client, Role.VIEWER)
    first = await client.get("/incidents")
    on_first = listed(first.text)
    assert on_first == list(reversed(ids[5:]))[:50]
    older = re.search(r'<a href="([^"]+)" id="older"', first.text)
    assert older is not None and older.group(1) == f"/incidents?before=open-{ids[7]}"
    second = await client.get(older.group(1))
    assert listed(second.text) == [ids[6], ids[5], *reversed(closed)]
    assert 'id="older"' not in second.text and '<a href="/incidents" id="newest">' in second.text
    # A closed row's mark pages within the closed ones; the filter is kept in the link.
    tail = await client.get(f"/incidents?state=all&class=degraded&before=closed-{closed[3]}")
    assert listed(tail.text) == [closed[2], closed[1], closed[0]]
    filtered = await client.get("/incidents?class=degraded&q=Incident")
    link = re.search(r'<a href="([^"]+)" id="older"', filtered.text)
    assert link is not None
    assert link.group(1).replace("&amp;", "&") == f"/incidents?class=degraded&q=Incident&before=open-{ids[7]}"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("state=broken", "State: 'broken' is not a choice: use one of all, open, closed, detected"),
        ("severity=9", "Severity: '9' is not a severity: use 1, 2, 3 or 4"),
        ("severity=high", "Severity: 'high' is not a severity"),
        ("class=outage", "Class: 'outage' is not a class: use one of total, partial, degraded, interruption"),
        ("q=" + "x" * 201, "Q: at most 200 characters of the title to look for; this has 201"),
        ("before=yesterday", "Before: 'yesterday' is not a page mark"),
        ("before=open-99999999999", "Before: 'open-99999999999' is not a page mark"),
        ("before=closed-0", "Before: 'closed-0' is not a page mark"),
    ],
)
async def test_a_bad_filter_is_a_400_page_saying_which_parameter_and_why(
    web: Web, client: httpx.AsyncClient, query: str, says: str
) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.get(f"/incidents?{query}")
    assert page.status_code == 400, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert says in page.text.replace("&#39;", "'")


async def test_a_responder_declares_an_incident_and_lands_in_its_room(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.RESPONDER)
    page = await client.get("/incidents")
    assert '<form method="post" action="/incidents" class="form declare-form" id="declare-form">' in page.text
    assert 'value="emergency"' in page.text  # the plan's queues to choose from
    answer = await client.post(
        "/incidents",
        data={
            "title": "  Agents cannot log in to the softphone ",
            "classification": "partial",
            "queues": ["billing", "emergency"],
        },
        headers=SAME_ORIGIN,
    )
    assert answer.status_code == 303, answer.text
    with unit_of_work(web.factory) as session:
        (made,) = session.scalars(select(IncidentRow)).all()
        assert (made.title, made.classification, made.severity, made.state, made.declared_by) == (
            "Agents cannot log in to the softphone",
            "partial",
            1,
            "detected",
            "user:responder",
        )  # partial hitting the emergency line (tolerance 15 minutes) is SEV1
    assert answer.headers["location"] == f"/incidents/{made.id}"
    room = await client.get(answer.headers["location"])
    assert room.status_code == 200
    assert '<h1 id="room-title">Agents cannot log in to the softphone</h1>' in room.text
    listed_now = await client.get("/incidents")
    assert listed(listed_now.text) == [made.id]


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"title": "   ", "classification": "total"}, "Title: say what is wrong, in a few words"),
        ({"title": "y" * 501, "classification": "total"}, "Title: at most 500 characters; this one has 501"),
        (
            {"title": "Queues odd", "classification": "interruption"},
            "Classification: use total, partial or degraded",
        ),
        (
            {"title": "Queues odd", "classification": "partial", "queues": ["billing", "nowhere"]},
            "Queues: no queue 'nowhere' in the plan",
        ),
    ],
)
async def test_a_refused_declaration_is_shown_with_its_reason_and_the_form_as_typed(
    web: Web, client: httpx.AsyncClient, form: dict[str, object], says: str
) -> None:
    await log_in(client, Role.MANAGER)
    answer = await client.post("/incidents", data=form, headers=SAME_ORIGIN)
    assert answer.status_code == 400, answer.text
    html = answer.text.replace("&#39;", "'")
    assert f'<p class="alert alert-bad" role="alert" id="declare-error">{says}</p>' in html
    assert '<details class="card declare" id="declare" open>' in html
    title = str(form["title"])
    assert f'value="{title}"' in html  # as typed, spaces and all
    assert f'<option value="{form["classification"]}" selected>' in html or form["classification"] not in (
        "total",
        "partial",
        "degraded",
    )
    if "queues" in form:
        assert 'value="billing" checked' in html
    assert count_incidents(web) == 0


async def test_a_viewer_sees_no_form_and_a_forged_declaration_is_refused(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.get("/incidents")
    assert page.status_code == 200
    assert 'action="/incidents"' not in page.text.replace('<form method="get" action="/incidents"', "")
    assert "Declare an incident" not in page.text
    forged = await client.post(
        "/incidents", data={"title": "Forged", "classification": "total"}, headers=SAME_ORIGIN
    )
    assert forged.status_code == 403
    assert "Your role (viewer) does not allow this" in forged.text
    agent = await client.post(
        "/incidents", data={"title": "Forged", "classification": "total"}, headers=web.bearer(Role.AGENT)
    )
    assert agent.status_code == 403
    assert count_incidents(web) == 0


async def test_a_cross_site_declaration_is_refused(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.MANAGER)
    cross = await client.post(
        "/incidents",
        data={"title": "From elsewhere", "classification": "total"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and "cross-site" in cross.text
    assert count_incidents(web) == 0


async def test_deadlines_at_risk_are_red_in_the_row(
    web: Web, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await a_total_outage_told_to_the_regulator(web, Settings(database_url="sqlite://", data_dir=tmp_path))
    await log_in(client, Role.VIEWER)
    page = await client.get("/incidents")
    (incident_id,) = listed(page.text)
    cells = row(page.text, incident_id)
    deadline = "Deadline at risk: regulator, due by Mon 15 Jun 11:30"
    assert f'<span class="pill tone-down deadline">{deadline}</span>' in cells
    assert '<span class="text-down small">' in cells


async def test_the_list_needs_a_login(web: Web, client: httpx.AsyncClient) -> None:
    page = await client.get("/incidents?state=open")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fincidents%3Fstate%3Dopen"


async def test_declaring_without_a_plan_is_refused_on_the_page(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    bare = make_web(session_factory, tmp_path, with_plan=False)
    async with bare.client() as anyone:
        await log_in(anyone, Role.MANAGER)
        page = await anyone.get("/incidents")
        assert page.status_code == 200 and "No incident yet." in page.text
        assert "No plan is loaded: an incident's severity and paging come from the plan." in page.text
        answer = await anyone.post(
            "/incidents", data={"title": "Phones down", "classification": "total"}, headers=SAME_ORIGIN
        )
    assert answer.status_code == 409
    assert "No plan is loaded: an incident&#39;s severity and paging come from the plan" in answer.text
    assert count_incidents(bare) == 0
