"""/api/v1/maintenance over HTTP, on SQLite and PostgreSQL: doors, the life of a window, bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from _web import Web, client, web

from standby.access.roles import Role

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

URL = "/api/v1/maintenance"
# T0 is 2026-06-15 09:30 UTC, 10:30 in London.
GOOD = {"reason": "ACD firmware", "components": ["acd"], "starts_at": "2026-06-15T11:00", "minutes": 60}


async def test_every_door_checks_who_is_asking(web: Web, client: httpx.AsyncClient) -> None:
    doors: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", URL, None),
        ("POST", URL, GOOD),
        ("GET", f"{URL}/plan:crm-patching", None),
        ("DELETE", f"{URL}/api:1", None),
    ]
    for method, path, body in doors:
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    for role in (Role.AGENT, Role.VIEWER):
        for method, path, body in doors:
            response = await client.request(method, path, json=body, headers=web.bearer(role))
            if method == "GET":
                assert response.status_code == 200, (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path)
                assert "manage_maintenance" in response.json()["detail"]


async def test_a_responder_declares_lists_reads_and_cancels_a_window(
    web: Web, client: httpx.AsyncClient
) -> None:
    responder = web.bearer(Role.RESPONDER)
    created = await client.post(URL, json=GOOD, headers=responder)
    assert created.status_code == 201, created.text
    window = created.json()
    key = window["key"]
    assert created.headers["location"] == f"{URL}/{key}"
    assert window["status"] == "upcoming" and window["active"] is False
    assert window["starts_at"] == "2026-06-15T10:00:00Z"  # 11:00 BST
    assert window["created_by"] == "token:responder-token" and window["components"] == ["acd"]
    listed = (await client.get(URL, headers=web.bearer(Role.AGENT))).json()["windows"]
    assert [w["key"] for w in listed] == [key, "plan:crm-patching"]
    assert (await client.get(f"{URL}?active=true", headers=responder)).json()["windows"] == []
    web.clock.advance(timedelta(minutes=45))
    active = (await client.get(f"{URL}?active=true", headers=responder)).json()["windows"]
    assert [w["key"] for w in active] == [key]
    one = await client.get(f"{URL}/{key}", headers=web.bearer(Role.VIEWER))
    assert one.status_code == 200 and one.json()["active"] is True
    assert one.json()["occurrence_end"] == "2026-06-15T11:00:00Z"
    cancelled = await client.delete(f"{URL}/{key}", headers=responder)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_by"]
    remaining = (await client.get(URL, headers=responder)).json()["windows"]
    assert [w["key"] for w in remaining] == ["plan:crm-patching"]
    past = (await client.get(f"{URL}?past=true", headers=responder)).json()["windows"]
    assert {w["key"]: w["status"] for w in past} == {"plan:crm-patching": "upcoming", key: "cancelled"}


async def test_a_recurring_window_with_an_end_and_an_offset(web: Web, client: httpx.AsyncClient) -> None:
    body = {
        "reason": "Weekly CRM backup",
        "starts_at": "2026-06-20T21:00:00+00:00",
        "ends_at": "2026-06-20T23:30:00Z",
        "repeat": "FREQ=WEEKLY;BYDAY=SA",
    }
    created = await client.post(URL, json=body, headers=web.bearer(Role.MANAGER))
    assert created.status_code == 201, created.text
    window = created.json()
    assert window["minutes"] == 150 and window["repeat"] == "FREQ=WEEKLY;BYDAY=SA"
    assert window["components"] == [] and window["timezone"] == "Europe/London"
    assert window["occurrence_start"] == "2026-06-20T21:00:00Z"


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({**GOOD, "components": ["acd", "warp-drive"]}, 400, "components[1]: no component 'warp-drive'"),
    ({**GOOD, "minutes": None, "ends_at": "2026-06-15T10:00"}, 400, "must be after starts_at"),
    ({**GOOD, "repeat": "FREQ=SOMETIMES"}, 400, "repeat:"),
    ({**GOOD, "repeat": "FREQ=WEEKLY;BYDAY=XX"}, 400, "not a recurrence rule"),
    ({**GOOD, "starts_at": "next tuesday"}, 422, "not a date and time"),
    ({**GOOD, "starts_at": 1750000000}, 422, "not a date and time"),
    ({**GOOD, "minutes": 99999999}, 400, "longer than 7 days"),
    ({**GOOD, "minutes": -5}, 400, "minutes: must be a positive number"),
    ({**GOOD, "minutes": None, "ends_at": "2026-07-15T10:00"}, 400, "more than 7 days"),
    ({**GOOD, "starts_at": "2026-06-15T08:00", "minutes": 30}, 400, "has passed"),
    ({**GOOD, "timezone": "Mars/Olympus"}, 400, "timezone"),
    ({**GOOD, "colour": "red"}, 422, "colour"),
    ({"reason": "no start"}, 422, "starts_at"),
]


async def test_bad_input_gets_a_clear_4xx(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    for body, status, words in BAD:
        response = await client.post(URL, json=body, headers=manager)
        assert response.status_code == status, (body, response.text)
        assert words in str(response.json()["detail"]), (body, response.text)
    plan_window = await client.delete(f"{URL}/plan:crm-patching", headers=manager)
    assert plan_window.status_code == 409 and "edit the plan" in plan_window.json()["detail"]
    for path in (f"{URL}/api:404", f"{URL}/plan:nope", f"{URL}/whatever"):
        missing = await client.get(path, headers=manager)
        assert missing.status_code == 404 and "GET /api/v1/maintenance" in missing.json()["detail"]
    gone = await client.delete(f"{URL}/api:404", headers=manager)
    assert gone.status_code == 404
    everything = (await client.get(f"{URL}?past=true", headers=manager)).json()["windows"]
    assert [w["key"] for w in everything] == ["plan:crm-patching"]  # nothing refused was kept
