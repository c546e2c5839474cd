"""The on-call page over HTTP, on SQLite and PostgreSQL: who is on call now and next in the plan's
time zone, the overrides, the calendar feed's address (which opens without a login), contacts
only for roles that read the plan, an override arranged and cancelled, refusals shown on the
page with the form kept, and forged or cross-site POSTs refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _web import T0, Web, log_in, make_web, section
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_incident_room import SAME_ORIGIN, forms

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import RotationOverrideRow

pytestmark = pytest.mark.anyio

SECRET = "k" * 40
PUBLIC = "http://standby.example"  # http: the test client keeps no Secure cookie
ROTATION = "platform-oncall"
# T0 is Monday 15 June 2026, 10:30 in London; the rotation (Dev, then Lin) hands over on
# Mondays at 09:00 London time.
DEV_PHONE = "+44 7700 900002"


@pytest.fixture
def web(session_factory: sessionmaker[Session], tmp_path: Path) -> Web:
    return make_web(session_factory, tmp_path, secret_key=SECRET, public_url=PUBLIC)


@pytest.fixture
async def client(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with web.client() as c:
        yield c


async def oncall_now(client: httpx.AsyncClient) -> tuple[str, str | None]:
    """Who the API says is on call now and next, by person id."""
    body = (await client.get("/api/v1/oncall")).json()
    (rotation,) = body["rotations"]
    return rotation["now"]["person_id"], (rotation["next"] or {}).get("person_id")


async def test_the_page_shows_who_is_on_call_now_and_next_and_the_calendar_feed(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.RESPONDER)
    page = await client.get("/oncall")
    assert page.status_code == 200, page.text
    html = page.text
    now_id, next_id = await oncall_now(client)
    names = {"dev": "Dev Patel", "lin": "Lin Zhou"}
    card = section(html, f"rotation-{ROTATION}")
    on_now = re.search(r"On call now</p>\s*<p class=\"who-on-call\"><strong>([^<]+)</strong>", card)
    on_next = re.search(r"Next</p>\s*<p class=\"who-on-call\"><strong>([^<]+)</strong>", card)
    assert on_now is not None and on_now.group(1) == names[now_id]
    assert next_id is not None and on_next is not None and on_next.group(1) == names[next_id]
    # The hand-over is next Monday at 09:00 in London (08:00 UTC), as the plan says.
    assert "hand-over Mon 22 Jun 09:00" in card
    assert "as of Mon 15 Jun 10:30 (Europe/London)" in html
    assert "+44 7700 90000" in card  # a responder may read the plan: numbers shown
    assert f'href="tel:{DEV_PHONE.replace(" ", "")}"' in card
    feed = re.search(r'id="calendar-platform-oncall" value="([^"]+)"', card)
    assert feed is not None
    url = feed.group(1).replace("&amp;", "&")
    assert url.startswith(f"{PUBLIC}/api/v1/oncall/{ROTATION}/calendar.ics?key=")
    async with web.client() as anonymous:  # the address opens the feed without a login
        ics = await anonymous.get(url.removeprefix(PUBLIC))
    assert ics.status_code == 200 and "BEGIN:VCALENDAR" in ics.text
    assert forms(html) == ["/oncall/overrides"]  # no override yet: nothing to cancel
    assert "Nobody else takes over" not in card
    assert "None: the rotation's turns apply." in card
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", html)


async def test_contacts_only_for_roles_that_read_the_plan_and_no_forms_for_viewers(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.AGENT)  # reads outages, not the plan
    html = (await client.get("/oncall")).text
    assert "Dev Patel" in html and "+44 7700" not in html and "tel:" not in html and "mailto:" not in html
    assert forms(html) == []
    async with web.client() as viewer:
        await log_in(viewer, Role.VIEWER)
        html = (await viewer.get("/oncall")).text
        assert "+44 7700" in html  # viewers read the plan
        assert forms(html) == [] and "Arrange an override" not in html


async def test_an_override_arranged_and_cancelled_from_the_page(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.RESPONDER)
    before_now, _ = await oncall_now(client)
    cover = "sam"
    done = await client.post(
        "/oncall/overrides",
        data={
            "rotation": ROTATION,
            "person": cover,
            "starts": "2026-06-15T10:00",
            "ends": "2026-06-16T09:00",
            "reason": "swap with Dev",
        },
        headers=SAME_ORIGIN,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/oncall?done=added#rotation-{ROTATION}"
    assert (await oncall_now(client))[0] == cover != before_now
    html = (await client.get(done.headers["location"])).text
    assert "Override arranged" in html
    card = section(html, f"rotation-{ROTATION}")
    assert re.search(r"On call now</p>\s*<p class=\"who-on-call\"><strong>Sam Reid</strong> <span", card)
    with unit_of_work(web.factory) as session:
        row = session.scalars(select(RotationOverrideRow)).one()
        override_id = row.id
        # 10:00 in London (summer time) is 09:00 UTC: the form's times are the plan's.
        assert row.starts_at == T0 - timedelta(minutes=30)
        assert (row.person_id, row.reason, row.created_by) == (cover, "swap with Dev", "responder")
    assert f'id="override-{override_id}"' in card and "swap with Dev" in card
    assert forms(html) == [f"/oncall/{ROTATION}/overrides/{override_id}/cancel", "/oncall/overrides"]

    cancelled = await client.post(f"/oncall/{ROTATION}/overrides/{override_id}/cancel", headers=SAME_ORIGIN)
    assert cancelled.status_code == 303
    html = (await client.get(cancelled.headers["location"])).text
    assert "Override cancelled" in html and f'id="override-{override_id}"' not in html
    assert (await oncall_now(client))[0] == before_now
    with unit_of_work(web.factory) as session:
        assert session.scalars(select(RotationOverrideRow.cancelled_at)).one() is not None


@pytest.mark.parametrize(
    ("form", "status", "reason"),
    [
        ({"person": "nobody"}, 400, "person_id: no person 'nobody' in the plan in force"),
        ({"starts": "2026-06-16T10:00", "ends": "2026-06-16T09:00"}, 400, "must be after starts_at"),
        ({"starts": "2026-06-14T08:00", "ends": "2026-06-15T08:00"}, 400, "has passed; an override must end"),
        ({"ends": "tomorrow"}, 400, "To: 'tomorrow' is not a date and time"),
        ({"ends": ""}, 400, "To: give a date and time"),
        ({"ends": "2026-10-15T09:00"}, 400, "more than 90; for longer, change the rotation"),
        ({"rotation": "night-desk"}, 404, "no rotation 'night-desk' in the plan in force"),
    ],
)
async def test_a_refused_override_is_shown_on_the_page_with_the_form_kept(
    web: Web, client: httpx.AsyncClient, form: dict[str, str], status: int, reason: str
) -> None:
    await log_in(client, Role.MANAGER)
    data = {
        "rotation": ROTATION,
        "person": "jo",
        "starts": "2026-06-15T12:00",
        "ends": "2026-06-15T18:00",
        "reason": "dentist",
    } | form
    refused = await client.post("/oncall/overrides", data=data, headers=SAME_ORIGIN)
    assert refused.status_code == status, refused.text
    error = re.search(r'id="oncall-error">([^<]+)<', refused.text)
    assert error is not None and reason.lower() in error.group(1).replace("&#39;", "'").lower()
    arrange = section(refused.text, "arrange")
    assert f'value="{data["starts"]}"' in arrange and 'value="dentist"' in arrange
    if data["person"] == "jo":
        assert '<option value="jo" selected>' in arrange
    with unit_of_work(web.factory) as session:
        assert session.scalars(select(RotationOverrideRow)).all() == []


async def test_a_viewer_is_refused_and_a_cross_site_post_is_refused(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.MANAGER)
    made = await client.post(
        "/oncall/overrides",
        data={"rotation": ROTATION, "person": "jo", "starts": "2026-06-15T12:00", "ends": "2026-06-15T18:00"},
        headers=SAME_ORIGIN,
    )
    assert made.status_code == 303
    with unit_of_work(web.factory) as session:
        override_id = session.scalars(select(RotationOverrideRow.id)).one()
    posts = [
        (
            "/oncall/overrides",
            {"rotation": ROTATION, "person": "sam", "starts": "2026-06-15T12:00", "ends": "2026-06-15T18:00"},
        ),
        (f"/oncall/{ROTATION}/overrides/{override_id}/cancel", {}),
    ]
    async with web.client() as viewer:
        await log_in(viewer, Role.VIEWER)
        for path, data in posts:
            refused = await viewer.post(path, data=data, headers=SAME_ORIGIN)
            assert refused.status_code == 403, path
            assert "does not allow this" in refused.text
    for path, data in posts:
        forged = await client.post(path, data=data, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403, path
        assert "cross-site" in forged.text
    with unit_of_work(web.factory) as session:
        rows = session.scalars(select(RotationOverrideRow)).all()
        assert [(r.person_id, r.cancelled_at) for r in rows] == [("jo", None)]
