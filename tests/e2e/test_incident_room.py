"""The incident room over HTTP, on SQLite and PostgreSQL: what it shows, each button's route, the
role refusals (also when forged), bad input shown on the page, and an unknown incident's 404 page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _web import BASE, PASSWORD, T0, Web, client, log_in, make_web, web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_deadlines_delivery import a_total_outage_told_to_the_regulator, send_until_settled
from test_deadlines_delivery import respond as deadline_pass

from standby.access.roles import Role
from standby.config import Settings
from standby.notify import outbox, outbox_delivery
from standby.plan.versions import current_plan
from standby.respond.incident_service import add_note, declare
from standby.respond.responder import ResponseSettings, respond_once
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, MessageRow, OutageRow, PageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

SAME_ORIGIN = {"Origin": BASE}


def respond(web: Web, tmp_path: Path, minutes: float, base_url: str = "https://standby.test") -> None:
    """One pass of the response, as the worker runs it, at T0 + minutes."""
    web.clock.set(T0 + timedelta(minutes=minutes))
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, public_url=base_url)
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        respond_once(
            session,
            plan=plan,
            now=web.clock.now(),
            holder="w",
            settings=ResponseSettings(secret="s" * 40, base_url=base_url, config=settings),
        )


def leeds_dark(web: Web, tmp_path: Path, base_url: str = "https://standby.test") -> int:
    """Leeds loses power: an outage, its incident paged, groups told, strategies proposed."""
    web.set_state("leeds-power", "down")  # no probe watches the power: as the worker records it
    with unit_of_work(web.factory) as session:
        session.add(
            OutageRow(
                started_at=T0,
                detected_at=T0,
                classification="partial",
                peak_classification="partial",
                causes=["leeds-power"],
                components=["leeds-power"],
                sites=["leeds"],
                queues=[],
                degraded_queues=[],
                history={},
                summary="Leeds power down",
                updated_at=T0,
            )
        )
    respond(web, tmp_path, 0, base_url)
    respond(web, tmp_path, 6, base_url)
    with unit_of_work(web.factory) as session:
        (incident_id,) = session.scalars(select(IncidentRow.id)).all()
    return incident_id


@pytest.fixture
def incident(web: Web, tmp_path: Path) -> int:
    return leeds_dark(web, tmp_path)


def park(web: Web, *, recipient_like: str = "%") -> int:
    """Park one of the incident's waiting emails as the sender does when the server refuses it for good."""
    with unit_of_work(web.factory) as session:
        message_id = session.scalars(
            select(MessageRow.id)
            .where(
                MessageRow.state == "pending",
                MessageRow.channel == "email",
                MessageRow.recipient.like(recipient_like),
            )
            .order_by(MessageRow.id)
        ).first()
        assert message_id is not None
        session.execute(
            MessageRow.__table__.update()
            .where(MessageRow.id != message_id, MessageRow.state == "pending")
            .values(next_attempt_at=web.clock.now() + timedelta(hours=1))
        )
        (claimed,) = outbox_delivery.claim_due(
            session, worker_id="w", now=web.clock.now(), limit=1, lease=timedelta(seconds=60)
        )
        assert claimed.id == message_id
        outbox_delivery.mark_failed(
            session,
            message_id=message_id,
            worker_id="w",
            now=web.clock.now(),
            permanent=True,
            error="email is not configured: set STANDBY_SMTP_URL",
        )
    return message_id


def forms(html: str) -> list[str]:
    """The actions of the page's POST forms, logout aside."""
    return [a for a in re.findall(r'<form method="post" action="([^"]+)"', html) if a != "/logout"]


def timeline(web: Web, incident_id: int, kind: str) -> list[str]:
    with unit_of_work(web.factory) as session:
        return [e.text for e in entries(session, incident_id, kind=kind)]


def incident_row(web: Web, incident_id: int) -> IncidentRow:
    with unit_of_work(web.factory) as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        session.expunge(row)
        return row


async def test_the_room_shows_the_incident_and_the_buttons_a_responder_may_use(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    await log_in(client, Role.RESPONDER)
    page = await client.get(f"/incidents/{incident}")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<h1 id="room-title">Leeds power down</h1>' in html
    assert "SEV2 (major)" in html and "not yet: paging" in html
    assert "Leeds mains power and UPS" in html and "cause" in html  # what is down, narrowed
    assert '<svg class="map"' in html
    assert "Move Leeds agents to home working" in html and "site leeds is down" in html
    assert "leadership" in html and "Mon 15 Jun 11:06" in html  # told, and the next update due
    assert "Paged Lin Zhou" in html  # the timeline, newest first
    i = incident
    assert forms(html) == [
        f"/incidents/{i}/acknowledge",
        f"/incidents/{i}/roles",
        f"/incidents/{i}/severity",
        f"/incidents/{i}/state",
        f"/incidents/{i}/state",
        f"/incidents/{i}/estimate",
        *[
            f"/incidents/{i}/strategies/{s}/{d}"
            for s in ("leeds-to-home", "overflow-to-harbour", "outage-message")
            for d in ("approve", "decline")
        ],
        f"/incidents/{i}/updates/leadership",
        f"/incidents/{i}/notes",
        f"/incidents/{i}/status-update",
    ]
    overview = await client.get("/")
    assert f'<a href="/incidents/{i}">{i}</a>' in overview.text
    # The Content-Security-Policy allows no inline script, style or handler: the room has none.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", html)
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_a_viewer_sees_no_buttons_and_every_forged_post_is_refused(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    message_id = park(web)
    await log_in(client, Role.VIEWER)
    page = await client.get(f"/incidents/{incident}")
    assert page.status_code == 200
    assert forms(page.text) == []
    assert "Parked" in page.text and "email is not configured" in page.text
    i = incident
    posts = [
        (f"/incidents/{i}/acknowledge", {}),
        (f"/incidents/{i}/roles", {"role": "commander", "person": "amara"}),
        (f"/incidents/{i}/state", {"to": "diagnosing"}),
        (f"/incidents/{i}/notes", {"text": "forged"}),
        (f"/incidents/{i}/estimate", {"minutes": "30"}),
        (f"/incidents/{i}/status-update", {"status": "resolved", "text": "forged"}),
        (f"/incidents/{i}/strategies/leeds-to-home/approve", {}),
        (f"/incidents/{i}/strategies/leeds-to-home/decline", {}),
        (f"/incidents/{i}/strategies/leeds-to-home/steps/0", {"done": "1"}),
        (f"/incidents/{i}/messages/{message_id}/retry", {}),
        (f"/incidents/{i}/severity", {"level": "1", "reason": "forged"}),
        (f"/incidents/{i}/updates/leadership", {"key": "k" * 20, "email_subject": "s", "email_body": "b"}),
    ]
    before = incident_row(web, i)
    for path, data in posts:
        refused = await client.post(path, data=data, headers=SAME_ORIGIN)
        assert refused.status_code == 403, path
        assert "does not allow this" in refused.text
    # A responder's cookie from another site's form: refused too.
    async with web.client() as other:
        await log_in(other, Role.RESPONDER)
        for path, data in posts:
            forged = await other.post(path, data=data, headers={"Origin": "https://evil.example"})
            assert forged.status_code == 403, path
            assert "cross-site" in forged.text
    after = incident_row(web, i)
    assert (after.state, after.commander) == (before.state, before.commander)
    assert after.updated_at == before.updated_at
    assert timeline(web, i, "note") == []


async def test_an_outage_worked_from_the_room(web: Web, client: httpx.AsyncClient, incident: int) -> None:
    i = incident
    await log_in(client, Role.RESPONDER)

    async def post(path: str, data: dict[str, str] | None = None) -> str:
        done = await client.post(f"/incidents/{i}{path}", data=data or {}, headers=SAME_ORIGIN)
        assert done.status_code == 303, done.text
        assert done.headers["location"].startswith(f"/incidents/{i}?done=")
        shown = await client.get(done.headers["location"])
        assert shown.status_code == 200
        return shown.text

    html = await post("/acknowledge")
    assert "Acknowledged: paging stops." in html
    assert incident_row(web, i).state == "acknowledged"
    with unit_of_work(web.factory) as session:
        acknowledged = session.scalars(select(PageRow.acknowledged_at).where(PageRow.incident_id == i)).all()
    assert any(a is not None for a in acknowledged)
    assert f'action="/incidents/{i}/acknowledge"' not in html

    html = await post("/roles", {"role": "commander", "person": "amara"})
    assert incident_row(web, i).commander == "amara"
    html = await post("/strategies/leeds-to-home/approve")
    assert "Strategy approved" in html and 'id="tick-leeds-to-home-0"' in html
    await post("/strategies/leeds-to-home/steps/0", {"done": "1"})
    html = await post("/strategies/leeds-to-home/steps/1", {"done": "1"})
    assert html.count('<li class="done">') == 2 and html.count("Untick") == 2
    await post("/strategies/outage-message/decline", {"reason": "the IVR team is on it"})
    html = await post("/strategies/leeds-to-home/complete")
    assert "Strategy marked done." in html and 'id="complete-leeds-to-home"' not in html
    assert [t for t in timeline(web, i, "strategy") if "declined" in t.lower()]

    web.clock.set(T0 + timedelta(minutes=20))
    html = await post("/notes", {"text": "Facilities say the UPS failed at 10:25", "at": "2026-06-15T10:25"})
    (note,) = timeline(web, i, "note")
    assert note == "Facilities say the UPS failed at 10:25"
    assert "(written Mon 15 Jun 10:50)" in html
    people = (await client.get(f"/incidents/{i}?show=people")).text
    assert "Facilities say" in people and "Paged Lin Zhou" not in people
    system = (await client.get(f"/incidents/{i}?show=system")).text
    assert "Facilities say" not in system and "Detected: Leeds power down" in system
    messages = (await client.get(f"/incidents/{i}?show=messages")).text
    assert "Paged Lin Zhou" in messages and "Detected: Leeds" not in messages

    for step in ("recovering", "verifying"):
        await post("/state", {"to": step})
    refused = await client.post(f"/incidents/{i}/state", data={"to": "resolved"}, headers=SAME_ORIGIN)
    assert refused.status_code == 400
    assert "Reason: say why you move it to resolved" in refused.text
    html = await post("/state", {"to": "resolved", "reason": "power back, agents answering from Leeds"})
    row = incident_row(web, i)
    assert row.state == "resolved" and row.resolved_at == T0 + timedelta(minutes=20)
    assert "verifying -&gt; resolved: power back" in html
    assert ">Reopen</button>" in html


async def test_bad_input_is_shown_in_the_room_never_a_500(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    i = incident
    await log_in(client, Role.MANAGER)
    cases = [
        ("/state", {"to": "sleeping"}, 400, "Unknown incident state &#39;sleeping&#39;"),
        ("/state", {"to": "acknowledged", "reason": ""}, 303, ""),
        ("/state", {"to": "detected"}, 400, "An incident cannot go from acknowledged to detected"),
        ("/roles", {"role": "captain", "person": "amara"}, 400, "Role: use one of commander"),
        ("/roles", {"role": "commander", "person": "nobody"}, 400, "no person &#39;nobody&#39;"),
        ("/roles", {"role": "commander"}, 400, "Person: choose who takes the role"),
        ("/notes", {"text": "  "}, 400, "Text: the note is empty"),
        ("/notes", {"text": "x", "at": "yesterday-ish"}, 400, "is not a time: use HH:MM"),
        ("/notes", {"text": "x", "at": "2026-06-15T11:30"}, 400, "cannot be dated in the future"),
        ("/notes", {"text": "x", "at": "2026-06-01T11:30"}, 400, "at most 7 days back"),
        ("/strategies/no-such/approve", {}, 404, "no-such"),
        ("/strategies/leeds-to-home/steps/0", {"done": "1"}, 409, "proposed"),
        ("/messages/999999/retry", {}, 404, "No message with id 999999"),
    ]
    for path, data, status, text in cases:
        answer = await client.post(f"/incidents/{i}{path}", data=data, headers=SAME_ORIGIN)
        assert answer.status_code == status, (path, data, answer.text[-400:])
        if status != 303:
            assert 'id="room-error"' in answer.text and text in answer.text, (path, text, answer.text[-3000:])
    await client.post(f"/incidents/{i}/strategies/leeds-to-home/approve", headers=SAME_ORIGIN)
    again = await client.post(f"/incidents/{i}/strategies/leeds-to-home/approve", headers=SAME_ORIGIN)
    assert again.status_code in (303, 409)
    sent = park(web)
    first = await client.post(f"/incidents/{i}/messages/{sent}/retry", headers=SAME_ORIGIN)
    assert first.status_code == 303
    twice = await client.post(f"/incidents/{i}/messages/{sent}/retry", headers=SAME_ORIGIN)
    assert twice.status_code == 409 and "not parked" in twice.text
    bad_query = await client.get(f"/incidents/{i}?show=everything")
    assert bad_query.status_code == 400
    assert "Show: &#39;everything&#39; is not a filter: use one of all, people, system" in bad_query.text


async def test_an_unknown_incident_is_a_404_page(web: Web, client: httpx.AsyncClient, incident: int) -> None:
    await log_in(client, Role.MANAGER)
    for answer in (
        await client.get("/incidents/999"),
        await client.post("/incidents/999/notes", data={"text": "x"}, headers=SAME_ORIGIN),
        await client.post("/incidents/999/acknowledge", headers=SAME_ORIGIN),
        await client.get("/incidents/999/mark"),
    ):
        assert answer.status_code == 404
        assert "no incident 999" in answer.text.lower()
    assert "<h1>Not found</h1>" in (await client.get("/incidents/999")).text
    assert (await client.get("/incidents/abc")).status_code == 422


async def test_the_link_leads_through_the_login_and_back_to_the_room(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    room = await client.get(f"/incidents/{incident}?show=people")
    assert room.status_code == 303
    assert room.headers["location"] == f"/login?next=%2Fincidents%2F{incident}%3Fshow%3Dpeople"
    login = await client.get(room.headers["location"])
    assert f'name="next" value="/incidents/{incident}?show=people"' in login.text
    back = await client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "next": f"/incidents/{incident}?show=people"},
        headers=SAME_ORIGIN,
    )
    assert back.status_code == 303 and back.headers["location"] == f"/incidents/{incident}?show=people"
    assert (await client.get(back.headers["location"])).status_code == 200


async def test_every_message_naming_the_incident_links_to_its_room_in_the_centres_time(
    web: Web, incident: int
) -> None:
    with unit_of_work(web.factory) as session:
        rows = session.scalars(select(MessageRow).where(MessageRow.incident_id == incident)).all()
        bodies = [(r.purpose, r.channel, r.body) for r in rows]
    assert bodies
    for purpose, _channel, body in bodies:
        assert "/api/v1/incidents" not in body, (purpose, body)
    page_mail = next(b for p, c, b in bodies if p == "page" and c == "email")
    assert f"The incident: https://standby.test/incidents/{incident}\n" in page_mail
    assert "UTC" not in page_mail and "BST" in page_mail  # the next level's time, as every message says it
    comms = [b for p, c, b in bodies if p.startswith("comm-") and c == "email"]
    assert comms and all(f"https://standby.test/incidents/{incident}" in b for b in comms)


async def test_the_overview_says_unknown_and_counts_parked_messages(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    await log_in(client, Role.VIEWER)
    html = (await client.get("/")).text
    assert 'id="messages-stuck"' not in html
    row = re.search(r"<code class=\"id\">crm</code>.*?</tr>", html, re.S)
    assert row is not None and "unknown" in row.group(0) and "✓ yes" not in row.group(0)
    park(web)
    html = (await client.get("/")).text
    assert "1 message parked" in html and 'href="/messages?state=parked"' in html


async def test_a_long_timeline_is_shown_newest_first_fifty_at_a_time(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    with unit_of_work(web.factory) as session:
        for n in range(120):
            add_note(
                session,
                incident_id=incident,
                text=f"Note number {n:03d}",
                by="user:manager",
                now=T0 + timedelta(minutes=7, seconds=n),
            )
    await log_in(client, Role.VIEWER)
    seen: list[str] = []
    path: str | None = f"/incidents/{incident}?show=people"
    pages = 0
    while path is not None:
        html = (await client.get(path)).text
        seen += re.findall(r"Note number (\d{3})", html)
        older = re.search(r'href="(/incidents/\d+\?show=people&amp;before=\d+)#timeline" id="older"', html)
        path = older.group(1).replace("&amp;", "&") if older else None
        pages += 1
    assert pages == 3
    assert seen == [f"{n:03d}" for n in reversed(range(120))]


async def test_a_declared_incident_has_a_room_and_an_agent_sees_it_without_messages(
    web: Web, client: httpx.AsyncClient
) -> None:
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        declared = declare(
            session,
            title="Callers hear silence",
            classification="partial",
            plan=plan,
            by="user:manager",
            now=T0,
        )
        outbox.enqueue(
            session,
            key="x:1",
            channel="email",
            recipient="amara@northwind.example",
            subject="Silence",
            body="Callers hear silence",
            purpose="comm-update",
            incident_id=declared.id,
            now=T0,
        )
    await log_in(client, Role.AGENT)
    page = await client.get(f"/incidents/{declared.id}")
    assert page.status_code == 200, page.text
    assert "Declared by hand" in page.text and "Callers hear silence" in page.text
    assert "Parked messages" not in page.text and "amara@" not in page.text  # not an agent's to read
    assert forms(page.text) == []
    async with web.client() as manager:
        await log_in(manager, Role.MANAGER)
        acknowledged = await manager.post(f"/incidents/{declared.id}/acknowledge", headers=SAME_ORIGIN)
        assert acknowledged.status_code == 303  # nobody was paged: acknowledging is the step itself
    assert incident_row(web, declared.id).state == "acknowledged"
    assert timeline(web, declared.id, "state")[-1] == "detected -> acknowledged"


async def test_a_deadline_at_risk_then_missed_is_red_in_the_room_with_its_reason(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)  # no SMTP: the email parks
    await a_total_outage_told_to_the_regulator(web, settings)
    message = await send_until_settled(web, settings, 6.4)
    assert message.state == "parked"

    async def regulator_row(minutes: float) -> str:
        deadline_pass(web, settings, minutes)
        async with web.client() as client:
            await log_in(client, Role.VIEWER)
            html = (await client.get(f"/incidents/{message.incident_id}")).text
        found = re.search(r'<tr id="group-regulator">.*?</tr>', html, re.S)
        assert found is not None
        return found.group(0)

    at_risk = await regulator_row(7)
    assert '<span class="pill tone-down">at risk</span>' in at_risk and "due by Mon 15 Jun 11:30" in at_risk
    assert 'class="small text-down">' in at_risk and "parked" in at_risk
    missed = await regulator_row(61)
    assert '<span class="pill tone-down">missed</span>' in missed and 'class="small text-down">' in missed


async def test_the_paged_sms_leads_to_the_room_through_its_acknowledgement_page(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, secret_key="s" * 40)
    incident_id = leeds_dark(web, tmp_path)
    with unit_of_work(web.factory) as session:
        sms = session.scalars(
            select(MessageRow.body).where(MessageRow.purpose == "page", MessageRow.channel == "sms")
        ).first()
    assert sms is not None and f"incident {incident_id}" in sms
    link = re.search(r"https://standby\.test(/ack/\S+)", sms)
    assert link is not None
    async with web.client() as anonymous:
        page = await anonymous.get(link.group(1))
    assert page.status_code == 200, page.text
    assert f'href="/incidents/{incident_id}" id="room-link"' in page.text
