"""/api/v1/calls over HTTP, on SQLite and PostgreSQL: doors, CSV and JSON, bad rows, the worklist."""

from __future__ import annotations

import httpx
import pytest
from _web import T0, Web, client, web

from standby.access.roles import Role

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

URL = "/api/v1/calls"
CSV = {"Content-Type": "text/csv"}
GOOD = (
    "call_id,customer,phone,queue,agent,started_at,vulnerable\n"
    "c-1,Ada Lovelace,+44 7700 900101,billing,agent-7,2026-06-15T10:21:00+01:00,no\n"
    "c-2,Bo Diddley,+447700900102,emergency,agent-8,2026-06-15T09:25:00Z,yes\n"
)


async def test_the_platform_imports_managers_read_and_agents_work_but_viewers_see_nothing(
    web: Web, client: httpx.AsyncClient
) -> None:
    assert (await client.get(URL)).status_code == 401
    for role in (Role.AGENT, Role.VIEWER, Role.RESPONDER):
        refused = await client.post(URL, content=GOOD, headers={**web.bearer(role), **CSV})
        assert refused.status_code == 403 and "import_customers" in refused.json()["detail"]
    viewer = await client.get(URL, headers=web.bearer(Role.VIEWER))
    assert viewer.status_code == 403 and "read_customers" in viewer.json()["detail"]
    recorded = await client.post(URL, content=GOOD, headers={**web.bearer(Role.MANAGER), **CSV})
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["imported"] == 2 and recorded.json()["refused"] == []
    listed = await client.get(URL, headers=web.bearer(Role.AGENT))
    assert listed.status_code == 200
    body = listed.json()
    # The vulnerable customer first; both open; cut off when reported (no outage known yet).
    assert [c["call_id"] for c in body["calls"]] == ["c-2", "c-1"] and body["open"] == 2
    first = body["calls"][0]
    assert first["phone"] == "+447700900102" and first["seconds_into_call"] == 5 * 60
    assert first["cut_at"] == T0.isoformat().replace("+00:00", "Z")
    worked = await client.post(
        f"{URL}/{first['id']}/work",
        json={"outcome": "called_back", "notes": "safe"},
        headers=web.bearer(Role.AGENT),
    )
    assert worked.status_code == 200 and worked.json()["state"] == "worked"
    assert worked.json()["worked_by"] == "agent-token"
    again = await client.post(
        f"{URL}/{first['id']}/work", json={"outcome": "resolved"}, headers=web.bearer(Role.AGENT)
    )
    assert again.status_code == 409 and "already worked to 'called_back'" in again.json()["detail"]
    viewer_work = await client.post(
        f"{URL}/{first['id']}/work", json={"outcome": "resolved"}, headers=web.bearer(Role.VIEWER)
    )
    assert viewer_work.status_code == 403


async def test_bad_rows_are_refused_by_row_and_column_and_good_ones_recorded(
    web: Web, client: httpx.AsyncClient
) -> None:
    text = GOOD + (
        "c-3,Cy,07700 900103,billing,,2026-06-15T10:21:00+01:00,\n"  # national: the plan says GB
        "c-4,Di,+44 12,billing,,2026-06-15T10:21:00+01:00,\n"
        "c-5,Ed,+447700900105,bling,,2026-06-15T10:21:00+01:00,\n"
        "c-6,Fi,+447700900106,billing,,tomorrow,\n"
        'c-7,"Gi,+447700900107,billing,,2026-06-15T10:21:00+01:00,\n'
    )
    response = await client.post(URL, content=text, headers={**web.bearer(Role.MANAGER), **CSV})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 3
    refused = [(p["row"], p["column"]) for p in body["refused"]]
    assert refused == [(5, "phone"), (6, "queue"), (7, "started_at"), (8, None)]
    assert "did you mean" in body["refused"][1]["message"]
    assert "never closed" in body["refused"][3]["message"]
    twice = await client.post(URL, content=GOOD, headers={**web.bearer(Role.MANAGER), **CSV})
    assert twice.status_code == 422
    assert [p["message"].startswith("already recorded as call #") for p in twice.json()["detail"]] == [
        True,
        True,
    ]


async def test_json_one_call_or_many_and_unreadable_bodies(web: Web, client: httpx.AsyncClient) -> None:
    one = {
        "call_id": "c-9",
        "customer": "Ada",
        "phone": "+447700900109",
        "queue": "moving",
        "started_at": "2026-06-15T09:29:00Z",
        "vulnerable": True,
    }
    manager = web.bearer(Role.MANAGER)
    single = await client.post(URL, json=one, headers=manager)
    assert single.status_code == 200 and single.json()["imported"] == 1
    wrapped = await client.post(
        URL, json={"calls": [{**one, "call_id": "c-10", "phne": "x"}]}, headers=manager
    )
    assert wrapped.status_code == 422
    assert (
        wrapped.json()["detail"][0]["column"] == "phne"
        and "did you mean" in wrapped.json()["detail"][0]["message"]
    )
    assert (
        await client.post(URL, content=b"<xml/>", headers={**manager, "Content-Type": "text/xml"})
    ).status_code == 415
    assert (await client.post(URL, content=b"\xff\xfe", headers={**manager, **CSV})).status_code == 422
    header = await client.post(URL, content="call,customer\n", headers={**manager, **CSV})
    assert header.status_code == 422 and header.json()["detail"][0]["row"] == 1
    unknown = await client.post(f"{URL}/999/work", json={"outcome": "resolved"}, headers=manager)
    assert unknown.status_code == 404
    bad = await client.post(f"{URL}/1/work", json={"outcome": "sorted"}, headers=manager)
    assert bad.status_code == 422
