"""/api/v1/agents over HTTP, on SQLite and PostgreSQL: doors, imports, every kind of bad row."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _web import Web, client, make_web, web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

URL = "/api/v1/agents"
CSV = {"Content-Type": "text/csv"}
GOOD = (
    "external_id,name,team,phone,email\n"
    "e1,Ada Lovelace,emergency-desk,+44 7700 900101,ada@northwind.example\n"
    "b1,Bo Diddley,billing-team,+447700900102,\n"
    "s1,Cy Young,sales-team,,cy@northwind.example\n"
)


def headers(web: Web, role: Role, **extra: str) -> dict[str, str]:
    return {**web.bearer(role), **extra}


async def test_only_managers_and_admins_see_or_change_the_directory(
    web: Web, client: httpx.AsyncClient
) -> None:
    for method in ("GET", "POST"):
        anonymous = await client.request(method, URL, content=GOOD, headers=CSV)
        assert anonymous.status_code == 401, method
        for role in (Role.AGENT, Role.VIEWER, Role.RESPONDER):
            response = await client.request(method, URL, content=GOOD, headers=headers(web, role, **CSV))
            assert response.status_code == 403, (method, role)
            assert "manage_agents" in response.json()["detail"]
    for role in (Role.MANAGER, Role.ADMIN):
        response = await client.get(URL, headers=web.bearer(role))
        assert response.status_code == 200 and response.json() == {"agents": [], "count": 0}


async def test_a_csv_import_adds_updates_and_replaces(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    first = await client.post(URL, content=GOOD, headers={**manager, **CSV})
    assert first.status_code == 200, first.text
    assert first.json() == {"total": 3, "created": 3, "updated": 0, "unchanged": 0, "deactivated": 0}
    listed = (await client.get(URL, headers=manager)).json()
    assert listed["count"] == 3
    ada = next(a for a in listed["agents"] if a["external_id"] == "e1")
    assert ada == {
        "external_id": "e1",
        "name": "Ada Lovelace",
        "team": "emergency-desk",
        "phone": "+447700900101",
        "email": "ada@northwind.example",
        "active": True,
        "updated_at": "2026-06-15T09:30:00Z",
    }
    assert [a["team"] for a in listed["agents"]] == ["billing-team", "emergency-desk", "sales-team"]
    again = await client.post(URL, content=GOOD, headers={**manager, **CSV})
    assert again.json() == {"total": 3, "created": 0, "updated": 0, "unchanged": 3, "deactivated": 0}
    moved = "external_id,name,team\nb1,Bo Diddley,sales-team\nn1,Nia New,billing-team\n"
    replaced = await client.post(f"{URL}?replace=true", content=moved, headers={**manager, **CSV})
    assert replaced.json() == {"total": 2, "created": 1, "updated": 1, "unchanged": 0, "deactivated": 2}
    sales = (await client.get(f"{URL}?team=sales-team", headers=manager)).json()["agents"]
    assert [(a["external_id"], a["phone"]) for a in sales] == [("b1", None)]
    everyone = (await client.get(f"{URL}?inactive=true", headers=manager)).json()["agents"]
    active = {a["external_id"]: a["active"] for a in everyone}
    assert active == {"e1": False, "b1": True, "s1": False, "n1": True}


async def test_a_json_import(web: Web, client: httpx.AsyncClient) -> None:
    admin = web.bearer(Role.ADMIN)
    body = [{"external_id": 42, "name": "Dee Dee", "team": "billing-team", "phone": "+44 7700 900142"}]
    response = await client.post(URL, json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    wrapped = await client.post(URL, json={"agents": body}, headers=admin)
    assert wrapped.json()["unchanged"] == 1
    agents = (await client.get(URL, headers=admin)).json()["agents"]
    assert agents[0]["external_id"] == "42" and agents[0]["phone"] == "+447700900142"


async def test_every_bad_row_is_reported_and_nothing_is_written(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    bad = (
        "external_id,name,team,phone,email\n"
        "e1,Ada Lovelace,emergency-desk,+44 7700 900101,ada@northwind.example\n"
        "e2,,billing-team,,\n"
        "e3,Eve Unknown,billing-tem,,\n"
        "e4,Fay National,sales-team,07700 900123,\n"
        "e5,Gil Mail,sales-team,,not-an-email\n"
        "e1,Hal Twice,sales-team,,\n"
        "e7,Ivy Comma,sales-team,+447700900107,ivy@northwind.example,extra\n"
        ",Jon NoId,sales-team,,\n"
    )
    response = await client.post(URL, content=bad, headers={**manager, **CSV})
    assert response.status_code == 422
    problems = response.json()["detail"]
    by_row = {(p["row"], p["column"]): p["message"] for p in problems}
    assert by_row[(3, "name")] == "required: it is empty"
    assert by_row[(4, "team")].startswith("unknown team 'billing-tem'; did you mean 'billing-team'?")
    assert "emergency-desk, billing-team, sales-team" in by_row[(4, "team")]
    assert "no country code" in by_row[(5, "phone")]
    assert "not an email address" in by_row[(6, "email")]
    assert by_row[(7, "external_id")] == "'e1' is also on row 2"
    assert by_row[(8, None)].startswith("6 values for 5 columns")
    assert by_row[(9, "external_id")] == "required: it is empty"
    assert [p["row"] for p in problems] == [3, 4, 5, 6, 7, 8, 9]
    assert (await client.get(URL, headers=manager)).json()["count"] == 0


async def test_bad_headers_bodies_and_types(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    wrong = "id,name,team,mobile\n1,A,sales-team,\n"
    header = await client.post(URL, content=wrong, headers={**manager, **CSV})
    assert header.status_code == 422
    assert {(p["row"], p["column"]) for p in header.json()["detail"]} == {
        (1, "id"),
        (1, "mobile"),
        (1, "external_id"),
    }
    unknown = next(p for p in header.json()["detail"] if p["column"] == "mobile")
    assert unknown["message"].startswith("unknown column; the columns are external_id,name,team,phone,email")
    empty = await client.post(URL, content="", headers={**manager, **CSV})
    assert empty.status_code == 422 and "no header row" in empty.json()["detail"][0]["message"]
    no_rows = await client.post(URL, content="external_id,name,team\n", headers={**manager, **CSV})
    assert no_rows.status_code == 422 and no_rows.json()["detail"][0]["message"] == "no agents in the import"
    not_json = await client.post(URL, content="{", headers={**manager, "Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["detail"] == "the body is not valid JSON"
    not_list = await client.post(URL, json={"name": "x"}, headers=manager)
    assert not_list.status_code == 422
    odd = await client.post(
        URL, json=[{"external_id": "x", "name": "X", "team": "sales-team", "desk": 4}, 7], headers=manager
    )
    assert {(p["row"], p["column"]) for p in odd.json()["detail"]} == {(1, "desk"), (2, None)}
    yaml = await client.post(URL, content="- a", headers={**manager, "Content-Type": "text/yaml"})
    assert yaml.status_code == 415
    latin = await client.post(
        URL,
        content="external_id,name,team\nx,Zo\xeb,sales-team\n".encode("latin-1"),
        headers={**manager, **CSV},
    )
    assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]
    big = await client.post(URL, content=b"x" * (5 * 1_048_576 + 1), headers={**manager, **CSV})
    assert big.status_code == 413


async def test_without_a_plan_there_are_no_teams_to_import_into(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    bare = make_web(session_factory, tmp_path, with_plan=False)
    async with bare.client() as c:
        response = await c.post(URL, content=GOOD, headers={**bare.bearer(Role.ADMIN), **CSV})
    assert response.status_code == 409 and "no plan" in response.json()["detail"]
