"""/api/v1/callbacks over HTTP, on SQLite and PostgreSQL: doors, CSV and JSON imports, bad rows, actions."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _web import Web, client, make_web, web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

URL = "/api/v1/callbacks"
CSV = {"Content-Type": "text/csv"}
GOOD = (
    "customer,phone,email,due_at,queue,vulnerable,notes,external_id\n"
    "Ada Lovelace,07700 900101,ada@example.com,2026-06-15T14:30:00+01:00,billing,yes,Bill query,crm-1\n"
    "Bo Diddley,+44 7700 900102,,2026-06-15T15:00:00+01:00,moving,no,,crm-2\n"
)


def auth(web: Web, role: Role, **extra: str) -> dict[str, str]:
    return {**web.bearer(role), **extra}


async def test_who_may_read_import_and_work_callbacks(web: Web, client: httpx.AsyncClient) -> None:
    assert (await client.get(URL)).status_code == 401
    assert (await client.post(URL, content=GOOD, headers=CSV)).status_code == 401
    viewer = await client.get(URL, headers=web.bearer(Role.VIEWER))
    assert viewer.status_code == 403 and "read_customers" in viewer.json()["detail"]
    for role in (Role.AGENT, Role.RESPONDER):
        refused = await client.post(URL, content=GOOD, headers=auth(web, role, **CSV))
        assert refused.status_code == 403 and "import_customers" in refused.json()["detail"], role
    booked = await client.post(URL, content=GOOD, headers=auth(web, Role.MANAGER, **CSV))
    assert booked.status_code == 200, booked.text
    first = booked.json()["ids"][0]
    for role in (Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN):
        listed = await client.get(URL, headers=web.bearer(role))
        assert listed.status_code == 200 and listed.json()["count"] == 2, role
    agent = web.bearer(Role.AGENT)
    confirmed = await client.post(f"{URL}/{first}/confirm", headers=agent)
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed"
    viewer_work = await client.post(f"{URL}/{first}/complete", headers=web.bearer(Role.VIEWER))
    assert viewer_work.status_code == 403 and "work_customers" in viewer_work.json()["detail"]


async def test_a_csv_import_and_the_ledger(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    response = await client.post(URL, content=GOOD, headers={**manager, **CSV})
    assert response.status_code == 200
    body = response.json()
    assert body["imported"] == 2 and body["refused"] == [] and body["refused_rows"] == 0
    ada_id = body["ids"][0]
    detail = await client.get(f"{URL}/{ada_id}", headers=manager)
    ada = detail.json()
    assert ada["customer"] == "Ada Lovelace" and ada["phone"] == "+447700900101"
    assert ada["due_at"] == ada["requested_due_at"] == "2026-06-15T13:30:00Z"
    assert ada["vulnerable"] is True and ada["state"] == "scheduled" and ada["source"] == "csv"
    assert ada["created_by"] == "manager-token"
    assert [(e["kind"], e["text"]) for e in ada["history"]] == [("booked", "booked from a CSV import")]
    page = (await client.get(f"{URL}?limit=1", headers=manager)).json()
    assert page["count"] == 1 and page["next_after"] == ada_id
    rest = (await client.get(f"{URL}?limit=1&after={ada_id}", headers=manager)).json()
    assert [c["customer"] for c in rest["callbacks"]] == ["Bo Diddley"] and rest["next_after"] is not None
    assert (await client.get(f"{URL}?after={rest['next_after']}", headers=manager)).json()["callbacks"] == []
    filtered = await client.get(
        URL, params={"vulnerable": "true", "state": "scheduled", "queue": "billing"}, headers=manager
    )
    assert [c["id"] for c in filtered.json()["callbacks"]] == [ada_id]
    window = await client.get(
        URL,
        params={"due_from": "2026-06-15T14:00:00Z", "due_to": "2026-06-16T00:00:00+01:00"},
        headers=manager,
    )
    assert [c["customer"] for c in window.json()["callbacks"]] == ["Bo Diddley"]
    naive = await client.get(URL, params={"due_from": "2026-06-15T14:00:00"}, headers=manager)
    assert naive.status_code == 422
    unknown_state = await client.get(URL, params={"state": "lost"}, headers=manager)
    assert unknown_state.status_code == 422
    assert (await client.get(f"{URL}/999999", headers=manager)).status_code == 404


async def test_a_json_import_in_each_shape(web: Web, client: httpx.AsyncClient) -> None:
    admin = web.bearer(Role.ADMIN)
    one = {
        "customer": "Cy",
        "phone": "+447700900103",
        "due_at": "2026-06-15T16:00:00+01:00",
        "queue": "billing",
    }
    single = await client.post(URL, json=one, headers=admin)
    assert single.status_code == 200 and single.json()["imported"] == 1
    listed = [
        {**one, "phone": "+447700900104", "vulnerable": True},
        {**one, "phone": "+447700900105", "external_id": "crm-5"},
    ]
    as_list = await client.post(URL, json=listed, headers=admin)
    assert as_list.json()["imported"] == 2
    wrapped = await client.post(URL, json={"callbacks": [{**one, "phone": "+447700900106"}]}, headers=admin)
    assert wrapped.json()["imported"] == 1
    records = (await client.get(URL, headers=admin)).json()["callbacks"]
    assert [(c["phone"], c["vulnerable"], c["source"]) for c in records][:2] == [
        ("+447700900103", False, "api"),
        ("+447700900104", True, "api"),
    ]
    history = (await client.get(f"{URL}/{records[0]['id']}", headers=admin)).json()["history"]
    assert history[0]["text"] == "booked through the API"


async def test_bad_rows_are_refused_and_good_rows_kept(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    await client.post(URL, content=GOOD, headers={**manager, **CSV})
    mixed = (
        "customer,phone,email,due_at,queue,vulnerable,notes,external_id\n"
        "Cy Young,07700 900103,,2026-06-15T16:00:00+01:00,billing,,,\n"
        "Di,0123,,2026-06-15T16:00:00+01:00,billing,,,\n"
        "Ed,07700 900105,,2026-06-15T08:00:00+01:00,billing,,,\n"
        "Fay,07700 900106,,2026-06-15T16:00:00+01:00,bilings,,,\n"
        "Ada Lovelace,+447700900101,,2026-06-15T13:30:00Z,billing,,,\n"
        "Gil,07700 900107,,2026-06-15T16:00:00+01:00,billing,,,crm-2\n"
        'Hal,"07700 900108"x,,2026-06-15T16:00:00+01:00,billing,,,\n'
    )
    response = await client.post(URL, content=mixed, headers={**manager, **CSV})
    assert response.status_code == 200
    body = response.json()
    assert body["imported"] == 1 and body["refused_rows"] == 6
    refused = {(p["row"], p["column"]): p["message"] for p in body["refused"]}
    assert set(refused) == {
        (3, "phone"),
        (4, "due_at"),
        (5, "queue"),
        (6, None),
        (7, "external_id"),
        (8, None),
    }
    assert "in the past" in refused[(4, "due_at")]
    assert "did you mean 'billing'?" in refused[(5, "queue")]
    assert refused[(6, None)].startswith("already booked as callback #1")
    assert refused[(7, "external_id")] == "already booked as callback #2"
    assert refused[(8, None)].startswith("not CSV")
    assert (await client.get(URL, headers=manager)).json()["count"] == 3
    nothing = await client.post(URL, content=GOOD, headers={**manager, **CSV})
    assert nothing.status_code == 422
    assert (
        nothing.json()["imported"] == 0
        and nothing.json()["ids"] == []
        and nothing.json()["refused_rows"] == 2
    )
    assert nothing.json()["detail"] == nothing.json()["refused"]


async def test_bodies_that_cannot_be_imported(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    header = await client.post(URL, content="name,phone,due_at,queue\n", headers={**manager, **CSV})
    assert header.status_code == 422
    assert {(p["row"], p["column"]) for p in header.json()["refused"]} == {(1, "name"), (1, "customer")}
    empty = await client.post(URL, content="", headers={**manager, **CSV})
    assert empty.status_code == 422 and "no header row" in empty.json()["refused"][0]["message"]
    no_rows = await client.post(URL, content="customer,phone,due_at,queue\n", headers={**manager, **CSV})
    assert (
        no_rows.status_code == 422 and no_rows.json()["refused"][0]["message"] == "no callbacks in the import"
    )
    not_json = await client.post(URL, content="[{", headers={**manager, "Content-Type": "application/json"})
    assert (
        not_json.status_code == 422
        and not_json.json()["refused"][0]["message"] == "the body is not valid JSON"
    )
    latin = await client.post(
        URL,
        content="customer,phone,due_at,queue\nZo\xeb,1,2,3\n".encode("latin-1"),
        headers={**manager, **CSV},
    )
    assert latin.status_code == 422 and "UTF-8" in latin.json()["refused"][0]["message"]
    yaml = await client.post(URL, content="- a", headers={**manager, "Content-Type": "text/yaml"})
    assert yaml.status_code == 415 and "text/csv" in yaml.json()["detail"]
    big = await client.post(URL, content=b"x" * (30 * 1_048_576 + 1), headers={**manager, **CSV})
    assert big.status_code == 413 and big.json()["detail"] == "an import may be at most 30 MB"
    assert (await client.get(URL, headers=manager)).json()["count"] == 0


async def test_hand_actions(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    ada_id, bo_id = (await client.post(URL, content=GOOD, headers={**manager, **CSV})).json()["ids"]
    agent = web.bearer(Role.AGENT)
    past = await client.post(
        f"{URL}/{ada_id}/move", json={"due_at": "2026-06-15T08:00:00Z", "reason": "asked"}, headers=agent
    )
    assert past.status_code == 400 and "in the past" in past.json()["detail"]
    naive = await client.post(
        f"{URL}/{ada_id}/move", json={"due_at": "2026-06-16T10:00:00", "reason": "asked"}, headers=agent
    )
    assert naive.status_code == 422
    no_reason = await client.post(
        f"{URL}/{ada_id}/move", json={"due_at": "2026-06-16T10:00:00Z"}, headers=agent
    )
    assert no_reason.status_code == 422
    moved = await client.post(
        f"{URL}/{ada_id}/move",
        json={
            "due_at": "2026-06-16T10:00:00+01:00",
            "window_end": "2026-06-16T10:30:00+01:00",
            "reason": "asked",
        },
        headers=agent,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "rescheduled" and moved.json()["due_at"] == "2026-06-16T09:00:00Z"
    assert moved.json()["window_end"] == "2026-06-16T09:30:00Z" and moved.json()["moves"] == 1
    with unit_of_work(web.factory) as session:
        (message,) = session.scalars(select(MessageRow)).all()
        assert message.recipient == "+447700900101" and message.idempotency_key == f"callback:{ada_id}:time:1"
    completed = await client.post(f"{URL}/{ada_id}/complete", json={"notes": "done"}, headers=agent)
    assert completed.status_code == 200 and completed.json()["state"] == "completed"
    again = await client.post(f"{URL}/{ada_id}/confirm", headers=agent)
    assert again.status_code == 409 and "it is final" in again.json()["detail"]
    bare_complete = await client.post(f"{URL}/{bo_id}/complete", headers=agent)
    assert bare_complete.status_code == 200
    cancel_final = await client.post(f"{URL}/{bo_id}/cancel", json={"reason": "rang in"}, headers=agent)
    assert cancel_final.status_code == 409
    missing = await client.post(f"{URL}/999999/cancel", json={"reason": "rang in"}, headers=agent)
    assert missing.status_code == 404
    history = (await client.get(f"{URL}/{ada_id}", headers=agent)).json()["history"]
    assert [e["kind"] for e in history] == ["booked", "moved", "told", "completed"]
    assert all(e["actor"] == "agent-token" for e in history[1:])


async def test_without_a_plan_there_are_no_queues_to_book_into(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    bare = make_web(session_factory, tmp_path, with_plan=False)
    async with bare.client() as c:
        response = await c.post(URL, content=GOOD, headers={**bare.bearer(Role.ADMIN), **CSV})
    assert response.status_code == 409 and "no plan" in response.json()["detail"]
