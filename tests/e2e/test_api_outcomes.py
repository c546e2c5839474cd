"""/api/v1/outcomes over HTTP, on SQLite and PostgreSQL: doors, logging, 422 details, CSV export."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from _web import BASE, Web, client, log_in, make_web, web
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import OutcomeRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

URL = "/api/v1/outcomes"
SAME_SITE = {"Origin": BASE}


def outcome(client_id: str = "page-entry-0001", **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "client_id": client_id,
        "customer": "Mrs Jane Doe",
        "phone": "07700 900123",
        "queue": "billing",
        "reason": "Bill higher than expected",
        "outcome": "Explained the estimated reading",
        "follow_up": True,
        "logged_at": "2026-06-15T10:12:00+01:00",
    }
    values.update(changes)
    return values


async def test_agents_log_and_read_viewers_may_not(web: Web, client: httpx.AsyncClient) -> None:
    assert (await client.post(URL, json=outcome())).status_code == 401
    assert (await client.get(URL)).status_code == 401
    for method in ("GET", "POST"):
        refused = await client.request(method, URL, json=outcome(), headers=web.bearer(Role.VIEWER))
        assert refused.status_code == 403, method
    viewer_post = await client.post(URL, json=outcome(), headers=web.bearer(Role.VIEWER))
    assert "log_outcomes" in viewer_post.json()["detail"]
    stored = await client.post(URL, json=outcome(), headers=web.bearer(Role.AGENT))
    assert stored.status_code == 200, stored.text
    body = stored.json()
    assert (body["stored"], body["duplicates"], body["refused"], body["detail"]) == (1, 0, 0, [])
    (item,) = body["results"]
    assert item["status"] == "stored" and item["problems"] == []
    assert item["outcome"]["phone"] == "+447700900123"  # national, read in the plan's country (GB)
    assert item["outcome"]["agent"] == "agent-token" and item["outcome"]["received_by"] == "token:agent-token"
    assert item["outcome"]["logged_at"] == "2026-06-15T09:12:00Z"
    listed = await client.get(URL, headers=web.bearer(Role.AGENT))
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert listed.json()["outcomes"][0] == item["outcome"]
    # Agents read and log; marking an export done is for those who import (managers).
    marking = await client.post(f"{URL}/exported", json={"client_ids": ["x"]}, headers=web.bearer(Role.AGENT))
    assert marking.status_code == 403 and "import_customers" in marking.json()["detail"]


async def test_the_page_logs_by_cookie_with_its_own_ids(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.AGENT)
    first = await client.post(URL, json=[outcome()], headers=SAME_SITE)
    again = await client.post(URL, json=[outcome()], headers=SAME_SITE)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["results"][0]["outcome"]["agent"] == "agent"
    assert again.json()["duplicates"] == 1
    assert again.json()["results"][0]["outcome"] == first.json()["results"][0]["outcome"]
    bare = outcome()
    del bare["client_id"]
    without = await client.post(URL, json=bare, headers=SAME_SITE)
    assert without.status_code == 422
    assert without.json()["detail"][0]["column"] == "client_id"
    forged = await client.post(
        URL, json=outcome("page-entry-0002"), headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert (await client.get(URL)).json()["count"] == 1


async def test_bad_items_get_422_with_row_and_column_and_good_ones_are_kept(
    web: Web, client: httpx.AsyncClient
) -> None:
    batch = [
        outcome("entry-0001"),
        outcome("entry-0002", queue="nowhere", reason=""),
        "not an object",
        outcome("entry-0004", mood="cross"),
        outcome("entry-0005", follow_up="perhaps", logged_at="yesterday"),
        outcome("entry-0006", phone="+44 12", customer="x" * 201),
    ]
    response = await client.post(URL, json=batch, headers=web.bearer(Role.AGENT))
    assert response.status_code == 422
    body = response.json()
    assert (body["stored"], body["duplicates"], body["refused"]) == (1, 0, 5)
    assert [r["status"] for r in body["results"]] == ["stored", *["refused"] * 5]
    where = {(d["row"], d["column"]) for d in body["detail"]}
    assert where == {
        (2, "queue"),
        (2, "reason"),
        (3, None),
        (4, "mood"),
        (5, "follow_up"),
        (5, "logged_at"),
        (6, "phone"),
        (6, "customer"),
    }
    # Nothing half-written: only the good one is there, and sending all again stores nothing more.
    resend = await client.post(URL, json=batch, headers=web.bearer(Role.AGENT))
    assert (resend.json()["stored"], resend.json()["duplicates"]) == (0, 1)
    assert (await client.get(URL, headers=web.bearer(Role.MANAGER))).json()["count"] == 1


async def test_the_body_is_checked_before_anything(web: Web, client: httpx.AsyncClient) -> None:
    agent = web.bearer(Role.AGENT)
    too_many = await client.post(URL, json=[outcome(f"entry-{n:05d}") for n in range(501)], headers=agent)
    assert too_many.status_code == 422 and "more than 500 outcomes" in too_many.json()["detail"][0]["message"]
    broken = await client.post(URL, content=b"{", headers={**agent, "Content-Type": "application/json"})
    assert broken.status_code == 422 and "not valid JSON" in broken.json()["detail"]
    typed = await client.post(URL, content=b"x", headers={**agent, "Content-Type": "text/xml"})
    assert typed.status_code == 415
    header = await client.post(URL, content=b"customer,mood\n", headers={**agent, "Content-Type": "text/csv"})
    assert header.status_code == 422 and {d["column"] for d in header.json()["detail"]} >= {"mood", "queue"}
    assert (await client.get(URL, headers=agent)).json()["count"] == 0


async def test_outcomes_come_in_as_csv_and_go_out_as_csv_then_confirmed_exported(
    web: Web, client: httpx.AsyncClient
) -> None:
    manager = web.bearer(Role.MANAGER)
    upload = (
        "customer,phone,queue,reason,outcome,follow_up,agent,logged_at,call_id\n"
        "=SUM(A1),,moving,Moving house,Booked a final reading,yes,Sam,2026-06-15T09:00:00Z,call-17\n"
        "Ann Other,+447700900124,billing,Direct debit,Changed the date,no,Sam,2026-06-15T09:05:00Z,\n"
    )
    posted = await client.post(URL, content=upload, headers={**manager, "Content-Type": "text/csv"})
    assert posted.status_code == 200 and posted.json()["stored"] == 2, posted.text
    exported = await client.get(URL, headers={**manager, "Accept": "text/csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == (
        'attachment; filename="standby-outcomes-20260615T093000Z.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["customer"] for r in rows] == ["'=SUM(A1)", "Ann Other"]
    assert rows[0]["call_id"] == "call-17" and rows[0]["follow_up"] == "true"
    assert rows[1]["phone"] == "+447700900124" and rows[1]["logged_at"] == "2026-06-15T09:05:00Z"
    assert list(rows[0]) == [
        "customer",
        "phone",
        "queue",
        "reason",
        "outcome",
        "follow_up",
        "agent",
        "logged_at",
        "client_id",
        "call_id",
    ]
    # Confirmed: the next export of what is new is empty until another outcome arrives.
    confirmed = await client.post(
        f"{URL}/exported", json={"client_ids": [r["client_id"] for r in rows]}, headers=manager
    )
    assert confirmed.json()["marked"] == 2
    fresh = await client.get(URL, params={"format": "csv", "not_exported": "true"}, headers=manager)
    assert fresh.text.count("\r\n") == 1
    await client.post(URL, json=outcome(), headers=web.bearer(Role.AGENT))
    web.clock.advance(timedelta(minutes=1))
    newer = await client.get(URL, params={"not_exported": "true"}, headers=manager)
    assert [o["client_id"] for o in newer.json()["outcomes"]] == ["page-entry-0001"]
    await client.post(f"{URL}/exported", json={"client_ids": ["page-entry-0001"]}, headers=manager)
    listed = (await client.get(URL, headers=manager)).json()["outcomes"]
    assert [o["exported_at"] for o in listed] == ["2026-06-15T09:31:00Z", *["2026-06-15T09:30:00Z"] * 2]


async def test_seen_a_get_from_a_foreign_page_marked_every_outcome_exported(
    web: Web, client: httpx.AsyncClient
) -> None:
    agent = web.bearer(Role.AGENT)
    await client.post(URL, json=[outcome("entry-0001"), outcome("entry-0002")], headers=agent)
    await log_in(client, Role.MANAGER)
    # What a link or an <img> on another site makes a signed-in manager's browser send:
    # SameSite=Lax lets the cookie go with a top-level GET.
    foreign = {"Referer": "https://evil.example/page", "Sec-Fetch-Site": "cross-site", "Accept": "text/csv"}
    for params in ({"mark_exported": "true"}, {"format": "csv", "mark_exported": "1"}):
        forged = await client.get(URL, params=params, headers=foreign)
        assert forged.status_code == 400, forged.text
        assert "POST /api/v1/outcomes/exported" in forged.json()["detail"]
    # Nor by token: a GET changes nothing, whoever sends it.
    by_token = await client.get(URL, params={"mark_exported": "true"}, headers=web.bearer(Role.ADMIN))
    assert by_token.status_code == 400
    listed = (await client.get(URL)).json()["outcomes"]
    assert [o["exported_at"] for o in listed] == [None, None]
    # The way that remains, a POST, is refused from another site.
    cross = await client.post(
        f"{URL}/exported", json={"client_ids": ["entry-0001"]}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    same = await client.post(f"{URL}/exported", json={"client_ids": ["entry-0001"]}, headers=SAME_SITE)
    assert same.status_code == 200 and same.json()["marked"] == 1


async def test_an_export_is_marked_only_when_the_crm_confirms_it(web: Web, client: httpx.AsyncClient) -> None:
    manager, agent = web.bearer(Role.MANAGER), web.bearer(Role.AGENT)
    await client.post(URL, json=[outcome("entry-0001"), outcome("entry-0002")], headers=agent)
    exported = await client.get(URL, params={"format": "csv", "not_exported": "true"}, headers=manager)
    ids = [r["client_id"] for r in csv.DictReader(io.StringIO(exported.text))]
    assert ids == ["entry-0001", "entry-0002"]
    # The download was lost, or the CRM refused the file: nothing is marked, the next export has them.
    again = await client.get(URL, params={"format": "csv", "not_exported": "true"}, headers=manager)
    assert again.text == exported.text
    refused = await client.post(f"{URL}/exported", json={"client_ids": ids}, headers=agent)
    assert refused.status_code == 403 and "import_customers" in refused.text
    empty = await client.post(f"{URL}/exported", json={"client_ids": []}, headers=manager)
    assert empty.status_code == 422
    web.clock.advance(timedelta(minutes=5))
    confirmed = await client.post(
        f"{URL}/exported", json={"client_ids": [*ids, "from-elsewhere"]}, headers=manager
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"marked": 2, "already": 0, "unknown": ["from-elsewhere"]}
    twice = await client.post(f"{URL}/exported", json={"client_ids": ids[:1]}, headers=manager)
    assert twice.json() == {"marked": 0, "already": 1, "unknown": []}
    fresh = await client.get(URL, params={"format": "csv", "not_exported": "true"}, headers=manager)
    assert fresh.text.count("\r\n") == 1
    listed = (await client.get(URL, headers=manager)).json()["outcomes"]
    assert {o["exported_at"] for o in listed} == {"2026-06-15T09:35:00Z"}


async def test_lists_filter_and_refuse_bad_queries(web: Web, client: httpx.AsyncClient) -> None:
    agent = web.bearer(Role.AGENT)
    batch = [
        outcome("entry-0001", follow_up=False),
        outcome("entry-0002", queue="moving", logged_at="2026-06-15T09:20:00Z"),
    ]
    await client.post(URL, json=batch, headers=agent)

    async def ids(**params: str) -> list[str]:
        response = await client.get(URL, params=params, headers=agent)
        assert response.status_code == 200, response.text
        return [o["client_id"] for o in response.json()["outcomes"]]

    assert await ids() == ["entry-0002", "entry-0001"]
    assert await ids(queue="moving") == ["entry-0002"]
    assert await ids(follow_up="false") == ["entry-0001"]
    assert await ids(since="2026-06-15T09:15:00Z") == ["entry-0002"]
    assert await ids(until="2026-06-15T10:15:00+01:00", limit="1") == ["entry-0001"]
    no_offset = await client.get(URL, params={"since": "2026-06-15T09:15"}, headers=agent)
    assert no_offset.status_code == 400 and "since" in no_offset.json()["detail"]
    too_many = await client.get(URL, params={"limit": "5000"}, headers=agent)
    assert too_many.status_code == 400 and "format=csv" in too_many.json()["detail"]


async def test_without_a_plan_outcomes_wait_for_one(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, with_plan=False)
    async with web.client() as c:
        response = await c.post(URL, json=outcome(), headers=web.bearer(Role.AGENT))
    assert response.status_code == 409 and "no plan" in response.json()["detail"]


async def test_the_page_is_for_those_who_log_outcomes(web: Web, client: httpx.AsyncClient) -> None:
    away = await client.get("/outcomes")
    assert away.status_code == 303 and away.headers["location"] == "/login?next=%2Foutcomes"
    await log_in(client, Role.VIEWER)
    refused = await client.get("/outcomes", headers={"Accept": "text/html"})
    assert refused.status_code == 403 and "log_outcomes" in refused.text
    await log_in(client, Role.AGENT)
    page = await client.get("/outcomes")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'data-agent="agent"' in page.text and '<option value="billing">' in page.text
    assert "/static/outcomes.js" in page.text and "http://" not in page.text and "https://" not in page.text
    script = await client.get("/static/outcomes.js")
    assert script.status_code == 200 and "localStorage" in script.text


async def test_a_sender_gone_mid_body_stores_nothing_and_is_no_server_error(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    """A phone losing signal half-way through a POST: nothing stored, logged as the client's doing."""
    sent: list[dict[str, Any]] = []
    parts = iter(
        [
            {"type": "http.request", "body": b'[{"client_id": "half-sent", "cust', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(parts)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    token = web.bearer(Role.AGENT)["Authorization"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"standby.test"),
            (b"content-type", b"application/json"),
            (b"authorization", token),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("standby.test", 80),
    }
    with caplog.at_level(logging.INFO, logger="standby"):
        await web.app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("client went away" in r.getMessage() for r in caplog.records)
    with unit_of_work(web.factory) as session:
        assert session.scalar(select(func.count()).select_from(OutcomeRow)) == 0
