"""/api/v1/oncall, /api/v1/pages/{id}/ack and /ack/{token} over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _web import T0, Web, make_web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.respond.ack_links import make_ack_token
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, PageRow, TimelineRow

pytestmark = pytest.mark.anyio

SECRET = "e2e-secret-" + "x" * 40
PUBLIC = "https://standby.example.org"
URL = "/api/v1/oncall"
ROTATION = "platform-oncall"
# T0 is Monday 15 June 2026, 10:30 in London: Lin's week (from 09:00 BST today).
OVERRIDE = {
    "person_id": "dev",
    "starts_at": "2026-06-16T18:00",
    "ends_at": "2026-06-17T09:00",
    "reason": "swap, Lin at a wedding",
}


@pytest.fixture
def web(session_factory: sessionmaker[Session], tmp_path: Path) -> Web:
    return make_web(session_factory, tmp_path, secret_key=SECRET, public_url=PUBLIC)


@pytest.fixture
async def client(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with web.client() as c:
        yield c


def incident_with_page(web: Web, *, person: str = "lin") -> tuple[int, int]:
    with unit_of_work(web.factory) as session:
        row = IncidentRow(
            title="ACD down: billing and moving lost",
            state="detected",
            severity=1,
            classification="partial",
            detected_at=T0,
            policy_id="platform",
            escalation_level=0,
            escalation_round=0,
            updated_at=T0,
        )
        session.add(row)
        session.flush()
        page = PageRow(incident_id=row.id, person_id=person, level=0, round=0, sent_at=T0)
        session.add(page)
        session.flush()
        return row.id, page.id


def page_state(web: Web, page_id: int) -> tuple[Any, str, int]:
    with unit_of_work(web.factory) as session:
        page = session.get(PageRow, page_id)
        assert page is not None
        incident = session.get(IncidentRow, page.incident_id)
        assert incident is not None
        entries = session.query(TimelineRow).filter(TimelineRow.incident_id == incident.id).count()
        return page.acknowledged_at, incident.state, entries


def token_for(web: Web, incident_id: int, page_id: int, **changes: Any) -> str:
    values: dict[str, Any] = {
        "page_id": page_id,
        "incident_id": incident_id,
        "person_id": "lin",
        "expires_at": T0 + timedelta(days=3),
    }
    values.update(changes)
    return make_ack_token(SECRET, **values)


# --- doors ----------------------------------------------------------------------------


async def test_every_door_checks_who_is_asking(web: Web, client: httpx.AsyncClient) -> None:
    _, page_id = incident_with_page(web)
    reads = [
        ("GET", URL, None),
        ("GET", f"{URL}/{ROTATION}", None),
        ("GET", f"{URL}/{ROTATION}/calendar.ics", None),
        ("GET", f"{URL}/{ROTATION}/overrides", None),
        ("GET", f"{URL}/{ROTATION}/overrides/1", None),
    ]
    writes: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("POST", f"{URL}/{ROTATION}/overrides", OVERRIDE, "manage_oncall"),
        ("DELETE", f"{URL}/{ROTATION}/overrides/1", None, "manage_oncall"),
        ("POST", f"/api/v1/pages/{page_id}/ack", None, "acknowledge_pages"),
    ]
    doors = [(m, p, b) for m, p, b in reads] + [(m, p, b) for m, p, b, _ in writes]
    for method, path, body in doors:
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == "Bearer"
    for role in (Role.AGENT, Role.VIEWER):
        for method, path, _ in reads:
            response = await client.request(method, path, headers=web.bearer(role))
            expected = 404 if path.endswith("/overrides/1") else 200
            assert response.status_code == expected, (role, path, response.text)
        for method, path, body, permission in writes:
            response = await client.request(method, path, json=body, headers=web.bearer(role))
            assert response.status_code == 403, (role, method, path)
            assert permission in response.json()["detail"]
    assert page_state(web, page_id) == (None, "detected", 0)


# --- who is on call -----------------------------------------------------------------------


async def test_who_is_on_call_with_contacts_only_for_plan_readers(
    web: Web, client: httpx.AsyncClient
) -> None:
    response = await client.get(URL, headers=web.bearer(Role.RESPONDER))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "Europe/London" and body["at"] == "2026-06-15T09:30:00Z"
    (rotation,) = body["rotations"]
    assert rotation["rotation_id"] == ROTATION and rotation["members"] == ["dev", "lin"]
    now, following = rotation["now"], rotation["next"]
    assert (now["person_id"], now["name"], now["override"]) == ("lin", "Lin Zhou", False)
    assert now["starts_at"] == "2026-06-15T08:00:00Z" and now["ends_at"] == "2026-06-22T08:00:00Z"
    assert now["phone"] == "+44 7700 900003" and now["email"] == "lin@northwind.example"
    assert (following["person_id"], following["starts_at"]) == ("dev", "2026-06-22T08:00:00Z")
    agent = (await client.get(URL, headers=web.bearer(Role.AGENT))).json()["rotations"][0]
    assert agent["now"]["name"] == "Lin Zhou"
    assert agent["now"]["phone"] is None and agent["now"]["email"] is None and agent["next"]["phone"] is None


async def test_a_rotation_its_shifts_and_its_calendar(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.get(f"{URL}/{ROTATION}", headers=web.bearer(Role.VIEWER))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["handoff_weekday"], body["handoff_time"], body["length_days"]) == ("monday", "09:00", 7)
    assert [s["person_id"] for s in body["shifts"]] == ["lin", "dev", "lin", "dev", "lin"]
    assert body["shifts"][0]["starts_at"] == "2026-06-15T08:00:00Z"
    assert body["overrides"] == []
    calendar_url = body["calendar_url"]
    assert calendar_url.startswith(f"{PUBLIC}{URL}/{ROTATION}/calendar.ics?key=")
    parts = urlsplit(calendar_url)
    feed = await client.get(f"{parts.path}?{parts.query}")  # no login: the key opens it
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert feed.headers["referrer-policy"] == "no-referrer"
    assert feed.text.startswith("BEGIN:VCALENDAR\r\n") and feed.text.endswith("END:VCALENDAR\r\n")
    assert feed.text.count("BEGIN:VEVENT") == 10  # the past week and eight ahead
    assert "SUMMARY:On call: Lin Zhou (platform-oncall)" in feed.text
    weeks = await client.get(f"{parts.path}?{parts.query}&weeks=2")
    assert weeks.text.count("BEGIN:VEVENT") == 4
    logged_in = await client.get(f"{URL}/{ROTATION}/calendar.ics", headers=web.bearer(Role.AGENT))
    assert logged_in.status_code == 200 and logged_in.text.count("BEGIN:VEVENT") == 10
    four = (await client.get(f"{URL}/{ROTATION}?weeks=1", headers=web.bearer(Role.VIEWER))).json()
    assert len(four["shifts"]) == 2


async def test_a_wrong_calendar_key_is_refused(web: Web, client: httpx.AsyncClient) -> None:
    for key in ("A" * 22, "nonsense", ""):
        response = await client.get(f"{URL}/{ROTATION}/calendar.ics", params={"key": key})
        assert response.status_code == 403, key
        assert "calendar key" in response.json()["detail"]
    # A key opens only its own rotation's feed.
    body = (await client.get(f"{URL}/{ROTATION}", headers=web.bearer(Role.VIEWER))).json()
    key = urlsplit(body["calendar_url"]).query.removeprefix("key=")
    response = await client.get(f"{URL}/another-rotation/calendar.ics", params={"key": key})
    assert response.status_code == 403


async def test_an_unknown_rotation_is_404(web: Web, client: httpx.AsyncClient) -> None:
    for path in (f"{URL}/nope", f"{URL}/nope/calendar.ics", f"{URL}/nope/overrides"):
        response = await client.get(path, headers=web.bearer(Role.MANAGER))
        assert response.status_code == 404, path
        assert "no rotation 'nope'" in response.json()["detail"]
    posted = await client.post(f"{URL}/nope/overrides", json=OVERRIDE, headers=web.bearer(Role.MANAGER))
    assert posted.status_code == 404


# --- overrides ------------------------------------------------------------------------


async def test_an_override_through_the_api(web: Web, client: httpx.AsyncClient) -> None:
    responder = web.bearer(Role.RESPONDER)
    created = await client.post(f"{URL}/{ROTATION}/overrides", json=OVERRIDE, headers=responder)
    assert created.status_code == 201, created.text
    record = created.json()
    assert created.headers["location"] == f"{URL}/{ROTATION}/overrides/{record['id']}"
    assert record["starts_at"] == "2026-06-16T17:00:00Z" and record["ends_at"] == "2026-06-17T08:00:00Z"
    assert (record["person_id"], record["name"], record["status"]) == ("dev", "Dev Patel", "upcoming")
    assert record["created_by"] == "token:responder-token"
    one = await client.get(created.headers["location"], headers=web.bearer(Role.AGENT))
    assert one.status_code == 200 and one.json() == record
    listed = (await client.get(f"{URL}/{ROTATION}/overrides", headers=responder)).json()["overrides"]
    assert [o["id"] for o in listed] == [record["id"]]
    rotation = (await client.get(f"{URL}/{ROTATION}", headers=responder)).json()
    assert [(s["person_id"], s["override"]) for s in rotation["shifts"][:3]] == [
        ("lin", False),
        ("dev", True),
        ("lin", False),
    ]
    assert rotation["next"]["person_id"] == "dev" and rotation["next"]["starts_at"] == "2026-06-16T17:00:00Z"
    web.clock.advance(timedelta(days=1, hours=8))  # 16 June 18:30 BST: Dev covers
    now = (await client.get(URL, headers=responder)).json()["rotations"][0]["now"]
    assert (now["person_id"], now["override"], now["override_id"]) == ("dev", True, record["id"])
    cancelled = await client.delete(created.headers["location"], headers=web.bearer(Role.MANAGER))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    now = (await client.get(URL, headers=responder)).json()["rotations"][0]["now"]
    assert now["person_id"] == "lin"
    again = await client.delete(created.headers["location"], headers=web.bearer(Role.MANAGER))
    assert again.status_code == 200 and again.json()["cancelled_at"] == cancelled.json()["cancelled_at"]
    assert (await client.get(f"{URL}/{ROTATION}/overrides", headers=responder)).json()["overrides"] == []
    past = await client.get(f"{URL}/{ROTATION}/overrides?past=true", headers=responder)
    assert [o["status"] for o in past.json()["overrides"]] == ["cancelled"]


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({**OVERRIDE, "person_id": "ghost"}, 400, "no person 'ghost'"),
    ({**OVERRIDE, "ends_at": "2026-06-16T17:00"}, 400, "must be after starts_at"),
    ({**OVERRIDE, "ends_at": "2026-10-01T09:00"}, 400, "more than 90"),
    ({**OVERRIDE, "starts_at": "2026-06-01T09:00", "ends_at": "2026-06-02T09:00"}, 400, "has passed"),
    ({**OVERRIDE, "starts_at": "tomorrow"}, 422, "not a date and time"),
    ({**OVERRIDE, "colour": "red"}, 422, "colour"),
    ({"person_id": "dev"}, 422, "starts_at"),
]


async def test_bad_overrides_get_a_clear_4xx(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    for body, status, words in BAD:
        response = await client.post(f"{URL}/{ROTATION}/overrides", json=body, headers=manager)
        assert response.status_code == status, (body, response.text)
        assert words in str(response.json()["detail"]), (body, response.text)
    everything = await client.get(f"{URL}/{ROTATION}/overrides?past=true", headers=manager)
    assert everything.json()["overrides"] == []
    assert (await client.delete(f"{URL}/{ROTATION}/overrides/999", headers=manager)).status_code == 404
    # Past the id column's range: refused as malformed, never sent to the database.
    past = await client.delete(f"{URL}/{ROTATION}/overrides/99999999999999", headers=manager)
    assert past.status_code == 422
    assert (await client.get(f"{URL}/{ROTATION}/overrides/abc", headers=manager)).status_code == 422


# --- acknowledging --------------------------------------------------------------------


async def test_acknowledging_a_page_through_the_api(web: Web, client: httpx.AsyncClient) -> None:
    incident_id, page_id = incident_with_page(web)
    response = await client.post(f"/api/v1/pages/{page_id}/ack", headers=web.bearer(Role.RESPONDER))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["already_acknowledged"] is False and body["incident_state"] == "acknowledged"
    assert body["acknowledged_at"] == "2026-06-15T09:30:00Z" and body["incident_id"] == incident_id
    again = await client.post(f"/api/v1/pages/{page_id}/ack", headers=web.bearer(Role.MANAGER))
    assert again.status_code == 200 and again.json()["already_acknowledged"] is True
    assert "already acknowledged" in again.json()["message"]
    assert page_state(web, page_id)[1:] == ("acknowledged", 1)
    missing = await client.post("/api/v1/pages/424242/ack", headers=web.bearer(Role.ADMIN))
    assert missing.status_code == 404 and "no page 424242" in missing.json()["detail"]


async def test_the_link_get_shows_and_only_post_acknowledges(web: Web, client: httpx.AsyncClient) -> None:
    incident_id, page_id = incident_with_page(web)
    token = token_for(web, incident_id, page_id)
    shown = await client.get(f"/ack/{token}")
    assert shown.status_code == 200, shown.text
    assert "ACD down: billing and moving lost" in shown.text and "Lin Zhou" in shown.text
    assert f'action="/ack/{token}"' in shown.text and "Acknowledge</button>" in shown.text
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"
    for _ in range(3):  # link previewers fetch it, again and again
        await client.get(f"/ack/{token}")
    assert page_state(web, page_id) == (None, "detected", 0)
    done = await client.post(f"/ack/{token}")
    assert done.status_code == 200 and "Acknowledged Mon 15 Jun 2026, 10:30 BST" in done.text
    acknowledged_at, state, entries = page_state(web, page_id)
    assert acknowledged_at is not None and state == "acknowledged" and entries == 1
    again = await client.post(f"/ack/{token}")
    assert again.status_code == 200 and "Already acknowledged" in again.text
    shown = await client.get(f"/ack/{token}")
    assert "was acknowledged" in shown.text and "Acknowledge</button>" not in shown.text
    assert page_state(web, page_id)[2] == 1


async def test_forged_expired_and_malformed_links_get_a_clear_400_page(
    web: Web, client: httpx.AsyncClient
) -> None:
    incident_id, page_id = incident_with_page(web)
    good = token_for(web, incident_id, page_id)
    forged = make_ack_token(
        "another-secret-" + "y" * 40,
        page_id=page_id,
        incident_id=incident_id,
        person_id="lin",
        expires_at=T0 + timedelta(days=1),
    )
    tampered = good.replace(f".{page_id}.", f".{page_id + 1}.", 1)
    expired = token_for(web, incident_id, page_id, expires_at=T0 - timedelta(minutes=1))
    other_person = token_for(web, incident_id, page_id, person_id="dev")
    cases = [
        (forged, "not valid"),
        (tampered, "not valid"),
        (expired, "expired at 2026-06-15 09:29 UTC"),
        (other_person, "does not match any page"),
        ("garbage", "malformed"),
        (good[:-5], "malformed"),
    ]
    for token, words in cases:
        for method in ("GET", "POST"):
            response = await client.request(method, f"/ack/{token}")
            assert response.status_code == 400, (token, method)
            assert "This link cannot be used" in response.text and words in response.text, (token, words)
            assert "Acknowledge</button>" not in response.text
    assert page_state(web, page_id) == (None, "detected", 0)


async def test_links_are_off_without_a_secret_key(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    bare = make_web(session_factory, tmp_path)
    async with bare.client() as client:
        response = await client.get("/ack/1.1.1.lin.9999999999.AAAAAAAAAAAAAAAAAAAAAA")
        assert response.status_code == 503 and "no secret key" in response.text
        body = (await client.get(f"{URL}/{ROTATION}", headers=bare.bearer(Role.VIEWER))).json()
        assert body["calendar_url"] is None
        feed = await client.get(f"{URL}/{ROTATION}/calendar.ics", params={"key": "A" * 22})
        assert feed.status_code == 403
