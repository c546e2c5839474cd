"""The messages page (the outbox) over HTTP, on SQLite and PostgreSQL: counts per state, messages
newest first with channel, recipient, first line, incident link, attempts, last error and times in
the plan's zone; filters by state and channel; paging; Retry and Cancel by a role that may, refused
for a viewer and from another site; what the outbox refuses shown on the page."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from _web import T0, Web, client, log_in, web
from sqlalchemy import select
from test_incident_room import SAME_ORIGIN, forms

from standby.access.roles import Role
from standby.notify import outbox, outbox_delivery, outbox_desk
from standby.plan.versions import current_plan
from standby.respond.incident_service import declare
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

HOOK = "https://hooks.example/services/T000/B000/secret-token"


def seed(web: Web) -> dict[str, int]:
    """One message in each state the outbox has, and one failing; their ids by name."""
    now = web.clock.now()
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        incident = declare(
            session, title="Leeds power down", classification="partial", plan=plan, by="user:manager", now=now
        )

        def put(name: str, channel: str, recipient: str, **more: object) -> int:
            record = outbox.enqueue(
                session,
                key=f"test:{name}",
                channel=channel,
                recipient=recipient,  # type: ignore[arg-type]
                body=f"Body of {name}\nsecond line",
                purpose="test",
                now=now,
                **more,  # type: ignore[arg-type]
            )
            return record.id

        ids = {
            "sent": put(
                "sent",
                "email",
                "lin@northwind.example",
                subject="Leeds power down: we are on it",
                recipient_name="Lin Zhou",
                incident_id=incident.id,
            ),
            "failing": put("failing", "email", "dev@northwind.example", subject="Queue stats stale"),
            "cancelled": put("cancelled", "email", "sam@northwind.example", subject="Never mind"),
            "parked": put(
                "parked",
                "sms",
                "+44 7700 900003",
                incident_id=incident.id,
                parked_reason="sms is not configured: set STANDBY_SMS_URL",
            ),
            "waiting": put(
                "waiting", "webhook", HOOK, payload={"style": "slack"}, not_before=now + timedelta(minutes=5)
            ),
        }
        claimed = outbox_delivery.claim_due(
            session, worker_id="w", now=now, limit=10, lease=timedelta(seconds=60)
        )
        assert {c.id for c in claimed} == {ids["sent"], ids["failing"], ids["cancelled"]}
        outbox_delivery.mark_sent(session, message_id=ids["sent"], worker_id="w", now=now, provider_id="p1")
        outbox_delivery.mark_failed(
            session,
            message_id=ids["failing"],
            worker_id="w",
            now=now,
            error="SMTP 451: try again later",
            permanent=False,
        )
        outbox_delivery.release(session, worker_id="w", message_ids=[ids["cancelled"]], now=now)
        outbox_desk.cancel(session, message_id=ids["cancelled"], now=now)
    ids["incident"] = incident.id
    return ids


def message(html: str, message_id: int) -> str:
    found = re.search(rf'<article class="message" id="message-{message_id}">.*?</article>', html, re.S)
    assert found is not None, message_id
    return found.group(0)


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="message" id="message-(\d+)">', html)]


def state_of(web: Web, message_id: int) -> str:
    with unit_of_work(web.factory) as session:
        return str(session.scalar(select(MessageRow.state).where(MessageRow.id == message_id)))


async def test_the_outbox_by_state_newest_first_with_what_each_message_is(
    web: Web, client: httpx.AsyncClient
) -> None:
    ids = seed(web)
    await log_in(client, Role.RESPONDER)
    page = await client.get("/messages")
    assert page.status_code == 200, page.text
    html = page.text
    counts = dict(re.findall(r'id="count-(\w+)">\w+ <span class="count">(\d+)</span>', html))
    assert counts == {"pending": "2", "sending": "0", "sent": "1", "parked": "1", "cancelled": "1"}
    assert 'All <span class="count">5</span>' in html
    every = ("sent", "failing", "cancelled", "parked", "waiting")
    assert shown_ids(html) == sorted((ids[k] for k in every), reverse=True)

    sent = message(html, ids["sent"])
    assert "Sent" in sent and "Lin Zhou" in sent and "lin@northwind.example" in sent
    assert "Leeds power down: we are on it" in sent
    assert f'<a href="/incidents/{ids["incident"]}">incident #{ids["incident"]}</a>' in sent
    assert "made Mon 15 Jun 10:30 · sent Mon 15 Jun 10:30" in sent  # London time, not UTC (09:30)
    assert "<form" not in sent
    parked = message(html, ids["parked"])
    assert "+447700900003" in parked and "Body of parked" in parked and "second line" not in parked
    assert "Parked Mon 15 Jun 10:30: sms is not configured" in parked
    failing = message(html, ids["failing"])
    assert "Retrying" in failing and "1 attempt</p>" in failing and "Last error: SMTP 451" in failing
    waiting = message(html, ids["waiting"])
    assert "Waiting" in waiting and "next try Mon 15 Jun 10:35" in waiting
    # A webhook's URL is a credential: only its host is shown.
    assert "https://hooks.example/…" in waiting and "secret-token" not in html
    assert "Cancelled" in message(html, ids["cancelled"])
    assert forms(html) == [
        f"/messages/{ids['waiting']}/cancel",
        f"/messages/{ids['parked']}/retry",
        f"/messages/{ids['parked']}/cancel",
        f"/messages/{ids['failing']}/cancel",
    ]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", html)


async def test_filters_by_state_and_channel(web: Web, client: httpx.AsyncClient) -> None:
    ids = seed(web)
    await log_in(client, Role.VIEWER)
    html = (await client.get("/messages?state=parked")).text
    assert shown_ids(html) == [ids["parked"]]
    assert '<strong class="tab tab-parked" aria-current="true" id="count-parked">' in html
    html = (await client.get("/messages?channel=email")).text
    assert shown_ids(html) == sorted([ids["sent"], ids["failing"], ids["cancelled"]])[::-1]
    counts = dict(re.findall(r'id="count-(\w+)">\w+ <span class="count">(\d+)</span>', html))
    assert counts == {"pending": "1", "sending": "0", "sent": "1", "parked": "0", "cancelled": "1"}
    assert 'href="/messages?state=parked&amp;channel=email"' in html  # the tabs keep the channel
    html = (await client.get("/messages?state=pending&channel=webhook")).text
    assert shown_ids(html) == [ids["waiting"]]
    assert shown_ids((await client.get("/messages?state=sent&channel=sms")).text) == []
    for bad, why in (("state=lost", "'lost' is not a state"), ("channel=fax", "'fax' is not a channel")):
        refused = await client.get(f"/messages?{bad}")
        assert refused.status_code == 400 and why in refused.text.replace("&#39;", "'")


async def test_a_long_outbox_is_paged_newest_first(web: Web, client: httpx.AsyncClient) -> None:
    with unit_of_work(web.factory) as session:
        made = [
            outbox.enqueue(
                session,
                key=f"bulk:{n}",
                channel="email",
                recipient=f"p{n}@northwind.example",
                subject=f"Number {n:03d}",
                body="x",
                purpose="test",
                now=T0,
            ).id
            for n in range(120)
        ]
    await log_in(client, Role.VIEWER)
    seen: list[int] = []
    address = "/messages?state=pending"
    for _ in range(3):
        html = (await client.get(address)).text
        seen += shown_ids(html)
        older = re.search(r'<a href="([^"]+)" id="older">', html)
        if older is None:
            break
        address = older.group(1).replace("&amp;", "&")
        assert "state=pending" in address
    assert seen == made[::-1] and len(seen) == 120
    assert 'id="older"' not in html and 'id="newest"' in html


async def test_retry_and_cancel_from_the_page(web: Web, client: httpx.AsyncClient) -> None:
    ids = seed(web)
    await log_in(client, Role.RESPONDER)
    parked, waiting = f"/messages/{ids['parked']}", f"/messages/{ids['waiting']}"
    done = await client.post(f"{parked}/retry", data={"state": "parked"}, headers=SAME_ORIGIN)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/messages?state=parked&done=retried"
    html = (await client.get(done.headers["location"])).text
    assert "goes out again now" in html and shown_ids(html) == []
    assert state_of(web, ids["parked"]) == "pending"

    done = await client.post(f"{waiting}/cancel", data={"channel": "webhook"}, headers=SAME_ORIGIN)
    assert done.status_code == 303 and done.headers["location"] == "/messages?channel=webhook&done=cancelled"
    assert state_of(web, ids["waiting"]) == "cancelled"

    # What the outbox refuses is shown on the page, with the filters kept.
    sent = f"/messages/{ids['sent']}"
    refused = await client.post(f"{sent}/cancel", data={"state": "sent"}, headers=SAME_ORIGIN)
    assert refused.status_code == 409
    assert f"Message {ids['sent']} cannot be cancelled: it was sent" in refused.text
    assert shown_ids(refused.text) == [ids["sent"]]
    refused = await client.post(f"/messages/{ids['failing']}/retry", headers=SAME_ORIGIN)
    assert refused.status_code == 409 and 'id="messages-error"' in refused.text
    missing = await client.post("/messages/999999/retry", headers=SAME_ORIGIN)
    assert missing.status_code == 404 and 'id="messages-error"' in missing.text
    assert state_of(web, ids["sent"]) == "sent" and state_of(web, ids["failing"]) == "pending"


async def test_a_viewer_sees_no_buttons_an_agent_no_page_and_forged_posts_are_refused(
    web: Web, client: httpx.AsyncClient
) -> None:
    ids = seed(web)
    await log_in(client, Role.VIEWER)
    html = (await client.get("/messages")).text
    assert forms(html) == [] and "lin@northwind.example" in html  # viewers read messages
    posts = [f"/messages/{ids['parked']}/retry", f"/messages/{ids['waiting']}/cancel"]
    for path in posts:
        refused = await client.post(path, headers=SAME_ORIGIN)
        assert refused.status_code == 403 and "does not allow this" in refused.text
    async with web.client() as agent:
        await log_in(agent, Role.AGENT)  # messages carry numbers and addresses: not for agents
        assert (await agent.get("/messages")).status_code == 403
    async with web.client() as manager:
        await log_in(manager, Role.MANAGER)
        for path in posts:
            forged = await manager.post(path, headers={"Origin": "https://evil.example"})
            assert forged.status_code == 403 and "cross-site" in forged.text
    assert (state_of(web, ids["parked"]), state_of(web, ids["waiting"])) == ("parked", "pending")
