"""The incident room's centre, severity and update forms over HTTP, on SQLite and PostgreSQL: the
centre's figures (Erlang A on the arrived agents), the customers caught with their worklist links,
severity changed with a reason (room and API), an update drafted, edited and sent once however often
it is posted, and the room's mark moving on each of the incident's own changes."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest
from _web import T0, Web, client, log_in, web
from sqlalchemy import func, select
from test_incident_room import SAME_ORIGIN, incident, incident_row, leeds_dark, timeline

from standby.access.roles import Role
from standby.impact.erlang import Traffic, erlang_a
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.store.engine import unit_of_work
from standby.store.tables import CommunicationRow, IncidentRow, MessageRow, OutageRow
from standby.store.tables.customers import InterruptedCallRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "incident", "leeds_dark", "web"]  # fixtures, imported for pytest


def element_text(html: str, element_id: str) -> str:
    """The text of the element with this id, tags stripped (up to its closing tag of the same name)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert found is not None, element_id
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())


def cut_off_calls(web: Web) -> int:
    """Two calls cut off when Leeds went dark, one of a vulnerable customer; the outage's id."""
    with unit_of_work(web.factory) as session:
        outage_id = session.scalars(select(OutageRow.id)).one()
        for n, vulnerable in ((1, False), (2, True)):
            session.add(
                InterruptedCallRow(
                    call_id=f"call-{n}",
                    customer=f"Customer {n}",
                    phone=f"+4477009000{n}",
                    customer_key=f"key-{n}",
                    queue="billing",
                    vulnerable=vulnerable,
                    started_at=T0,
                    cut_at=T0,
                    outage_id=outage_id,
                    state="open",
                    source="api",
                    created_by="test",
                    created_at=T0,
                    updated_at=T0,
                )
            )
    return outage_id


async def test_the_centre_shows_each_queue_hit_and_the_customers_caught(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    outage_id = cut_off_calls(web)
    await log_in(client, Role.RESPONDER)
    html = (await client.get(f"/incidents/{incident}")).text
    assert "Sites lost: Leeds contact centre" in element_text(html, "centre")
    emergency = element_text(html, "queue-emergency")
    assert "reachable" in emergency and "not answered" in emergency
    assert "0 of 12 planned" in emergency and "nobody is able to answer it" in emergency
    assert "48 calls forecast 10:30 to 11:00" in emergency and "abandoned 100%" in emergency
    assert "9 min left out 6 min of 15 min" in emergency  # 6 minutes into a 15-minute tolerance
    assert "Sites lost Leeds contact centre" in emergency
    assert "4 h 00 min" in element_text(html, "queue-billing")
    assert element_text(html, "caught-calls") == "2 calls cut off"
    assert element_text(html, "caught-vulnerable") == "1 vulnerable customers"
    assert element_text(html, "caught-callbacks") == "0 callbacks flagged"
    for href in (
        f"/callbacks?outage={outage_id}",
        f"/calls?outage={outage_id}",
        f"/callbacks?outage={outage_id}&amp;vulnerable=1",
    ):
        assert f'href="{href}"' in html

    # Home working approved at 10:36: its agents take calls from 11:06. At 11:07 the centre
    # has them, and the expected service is Erlang A's for 11:00-11:30 on them.
    approved = await client.post(
        f"/incidents/{incident}/strategies/leeds-to-home/approve", headers=SAME_ORIGIN
    )
    assert approved.status_code == 303, approved.text
    web.clock.set(T0 + timedelta(minutes=37))
    html = (await client.get(f"/incidents/{incident}")).text
    emergency = element_text(html, "queue-emergency")
    assert "9 of 12 planned (9 relocated)" in emergency  # 12 x 0.8, rounded down
    plan = load_plan_text(reference_plan_text())
    queue = plan.queues_by_id["emergency"]
    figures = erlang_a(
        Traffic.over_interval(
            calls=46,
            interval_minutes=30,
            aht_s=queue.aht_s,
            answer_within_s=queue.service_level.answer_within_s,
            patience_s=queue.patience_s,
        ),
        9,
    )
    assert "46 calls forecast 11:00 to 11:30" in emergency
    assert f"{figures.service_level:.0%} in 10 s (target 90%)" in emergency
    assert f"ASA {figures.asa_s:.0f} s" in emergency and f"abandoned {figures.p_abandon:.0%}" in emergency
    assert "breached 22 min ago out 37 min of 15 min" in emergency

    # A viewer reads the same figures, without the worklists it may not open.
    async with web.client() as viewer:
        await log_in(viewer, Role.VIEWER)
        seen = (await viewer.get(f"/incidents/{incident}")).text
    assert element_text(seen, "caught-calls") == "2 calls cut off" and "/calls?outage=" not in seen


async def test_severity_changes_with_a_reason_in_the_room_and_the_api(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    await log_in(client, Role.RESPONDER)
    room = f"/incidents/{incident}"
    refused = await client.post(f"{room}/severity", data={"level": "1", "reason": " "}, headers=SAME_ORIGIN)
    assert refused.status_code == 400 and "Reason: say why the severity changes" in refused.text
    unknown = await client.post(f"{room}/severity", data={"level": "9", "reason": "x"}, headers=SAME_ORIGIN)
    assert unknown.status_code == 400 and "is not a severity: use 1 to 4" in unknown.text
    done = await client.post(
        f"{room}/severity",
        data={"level": "1", "reason": "the gas emergency line is at risk"},
        headers=SAME_ORIGIN,
    )
    assert done.status_code == 303
    html = (await client.get(done.headers["location"])).text
    assert "Severity changed." in html and "SEV1 (critical)" in element_text(html, "top")
    assert timeline(web, incident, "severity") == [
        "Severity SEV2 (major) -> SEV1 (critical): the gas emergency line is at risk"
    ]

    api = f"/api/v1/incidents/{incident}/severity"
    headers = web.bearer(Role.RESPONDER)
    async with web.client() as bearer:
        same = await bearer.post(api, json={"severity": "SEV1", "reason": "again"}, headers=headers)
        assert same.status_code == 400 and "already SEV1" in same.json()["detail"]
        no_reason = await bearer.post(api, json={"severity": 3, "reason": ""}, headers=headers)
        assert no_reason.status_code == 400 and "reason" in no_reason.json()["detail"]
        lowered = await bearer.post(
            api, json={"severity": 3, "reason": "Leeds back on generator"}, headers=headers
        )
        assert lowered.status_code == 200, lowered.text
        assert (lowered.json()["severity"], lowered.json()["severity_text"]) == (3, "SEV3 (minor)")
        entry = lowered.json()["timeline"][-1]
        assert entry["kind"] == "severity" and entry["actor"] == "token:responder-token"
        viewer = await bearer.post(api, json={"severity": 2, "reason": "x"}, headers=web.bearer(Role.VIEWER))
        assert viewer.status_code == 403
        missing = await bearer.post(
            "/api/v1/incidents/999/severity", json={"severity": 2, "reason": "x"}, headers=headers
        )
        assert missing.status_code == 404
        resolved = await bearer.post(
            f"/api/v1/incidents/{incident}/state",
            json={"state": "resolved", "note": "power back"},
            headers=headers,
        )
        assert resolved.status_code == 200
        closed = await bearer.post(api, json={"severity": 1, "reason": "late"}, headers=headers)
        assert closed.status_code == 409 and "resolved" in closed.json()["detail"]
    assert incident_row(web, incident).severity == 3
    assert 'id="severity-form"' not in (await client.get(room)).text  # closed: no form


async def test_an_update_is_drafted_edited_and_sent_once(
    web: Web, client: httpx.AsyncClient, incident: int, tmp_path: Path
) -> None:
    await log_in(client, Role.RESPONDER)
    room = f"/incidents/{incident}"
    html = (await client.get(room)).text
    form = re.search(
        r'<form method="post" action="(/incidents/\d+/updates/leadership)".*?</form>', html, re.S
    )
    assert form is not None
    key = re.search(r'name="key" value="([^"]+)"', form.group(0))
    subject = re.search(r'name="email_subject" value="([^"]*)"', form.group(0))
    body = re.search(r'name="email_body"[^>]*>([^<]*)</textarea>', form.group(0))
    sms = re.search(r'name="sms_body"[^>]*>([^<]*)</textarea>', form.group(0))
    assert key and subject and body and sms
    assert "Update 1 to leadership" in unescape(form.group(0))
    drafted = unescape(body.group(1))
    assert drafted.startswith("Update 1 at 10:36 BST: Northwind Energy Customer Care still has a partial")
    assert drafted.endswith(f"/incidents/{incident}")  # the plan's update template, as Standby sends it
    assert unescape(subject.group(1)) == (
        "Update 1: a partial outage at Northwind Energy Customer Care, 6 minutes so far"
    )

    empty = await client.post(
        form.group(1),
        data={"key": key.group(1), "email_subject": "s", "email_body": "  ", "sms_body": "x"},
        headers=SAME_ORIGIN,
    )
    assert empty.status_code == 400 and "Email: the update is empty" in empty.text

    web.clock.set(T0 + timedelta(minutes=20))
    data = {
        "key": key.group(1),
        "email_subject": unescape(subject.group(1)),
        "email_body": drafted + "\nGenerator arrives at 11:15.",
        "sms_body": "Leeds dark; generator 11:15.",
    }
    for _ in range(2):  # a double click: the second finds its messages sent, and counts nothing
        sent = await client.post(form.group(1), data=data, headers=SAME_ORIGIN)
        assert sent.status_code == 303 and "done=update" in sent.headers["location"]
    with unit_of_work(web.factory) as session:
        messages = session.scalars(
            select(MessageRow).where(MessageRow.idempotency_key.like("comm:%:leadership:update:by-hand:%"))
        ).all()
        assert sorted((m.channel, m.recipient) for m in messages) == sorted(
            [("email", f"{p}@northwind.example") for p in ("sam", "amara", "jo")]
            + [("sms", f"+4477009000{n}") for n in ("04", "01", "05")]
        )
        assert {m.body for m in messages if m.channel == "sms"} == {"Leeds dark; generator 11:15."}
        assert all(
            m.purpose == "comm-update" and m.subject == data["email_subject"]
            for m in messages
            if m.channel == "email"
        )
        row = session.scalars(
            select(CommunicationRow).where(CommunicationRow.stakeholder_id == "leadership")
        ).one()
        assert row.updates_sent == 1
        assert row.next_update_at is not None
        assert row.next_update_at.replace(tzinfo=None) == (T0 + timedelta(minutes=50)).replace(tzinfo=None)
    said = [t for t in timeline(web, incident, "message") if "by hand" in t]
    assert said == [
        "Update 1 to leadership by email, written and sent by hand: queued for 3 recipients",
        "Update 1 to leadership by SMS, written and sent by hand: queued for 3 recipients",
    ]
    html = (await client.get(room)).text
    assert "Update 2 to leadership" in html and "Mon 15 Jun 11:20" in element_text(html, "group-leadership")

    async with web.client() as viewer:
        await log_in(viewer, Role.VIEWER)
        assert 'id="update-leadership"' not in (await viewer.get(room)).text
        refused = await viewer.post(form.group(1), data=data, headers=SAME_ORIGIN)
        assert refused.status_code == 403


async def test_the_rooms_mark_moves_on_each_of_the_incidents_own_changes(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    await log_in(client, Role.RESPONDER)
    room = f"/incidents/{incident}"

    async def mark() -> str:
        found = await client.get(f"{room}/mark")
        assert found.status_code == 200
        return str(found.json()["mark"])

    changes = [
        ("/severity", {"level": "1", "reason": "gas line at risk"}),
        ("/state", {"to": "diagnosing"}),
        ("/roles", {"role": "commander", "person": "amara"}),
        ("/strategies/leeds-to-home/approve", {}),
        ("/strategies/leeds-to-home/steps/0", {"done": "1"}),
        ("/strategies/overflow-to-harbour/decline", {"reason": "not needed"}),
    ]
    seen = [await mark()]
    for path, data in changes:
        done = await client.post(f"{room}{path}", data=data, headers=SAME_ORIGIN)
        assert done.status_code == 303, (path, done.text)
        seen.append(await mark())
        assert seen[-1] != seen[-2], path
    with unit_of_work(web.factory) as session:
        assert session.scalar(select(func.count()).select_from(IncidentRow)) == 1
