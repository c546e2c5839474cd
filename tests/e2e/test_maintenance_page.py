"""The maintenance page over HTTP, on SQLite and PostgreSQL: windows in progress, planned and past
(paged) in the plan's zone; a window declared and cancelled from the page; refusals (an end before
the start, an unknown component, too long) shown on the page with the form kept; a viewer's and a
cross-site POST refused."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from _web import T0, Web, client, log_in, section, web
from sqlalchemy import select
from test_incident_room import SAME_ORIGIN, forms

from standby.access.roles import Role
from standby.detect.maintenance_service import declare_window
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.store.tables import MaintenanceWindowRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

# T0 is Monday 15 June 2026, 10:30 in London.
FORM = {
    "components": ["crm", "ivr"],
    "starts": "2026-06-15T10:00",
    "ends": "2026-06-15T12:00",
    "reason": "CRM database failover test",
}


def keys(html: str) -> list[str]:
    return re.findall(r'<article class="window" id="window-([\w-]+)">', html)


def rows(web: Web) -> list[MaintenanceWindowRow]:
    with unit_of_work(web.factory) as session:
        found = list(session.scalars(select(MaintenanceWindowRow).order_by(MaintenanceWindowRow.id)))
        session.expunge_all()
        return found


async def test_a_viewer_sees_the_plans_window_planned_and_no_form(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.get("/maintenance")
    assert page.status_code == 200, page.text
    html = page.text
    planned = section(html, "planned")
    assert keys(planned) == ["plan-crm-patching"]
    # The first Sunday of July, 02:00 to 04:00 in London.
    assert "CRM monthly patching by the CRM team" in planned
    assert "Sun 05 Jul 02:00 → Sun 05 Jul 04:00" in planned
    assert "repeats <code>FREQ=MONTHLY;BYDAY=1SU</code>, 120 min each" in planned
    assert "Covers: Customer records (CRM)" in planned and "From the plan" in planned
    assert "No window is running." in section(html, "active") and "None." in section(html, "past")
    assert forms(html) == [] and "Declare a window" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", html)


async def test_a_window_declared_and_cancelled_from_the_page(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.RESPONDER)
    html = (await client.get("/maintenance")).text
    assert forms(html) == ["/maintenance"]
    assert '<option value="crm">Customer records (CRM) (crm)</option>' in html
    done = await client.post("/maintenance", data=FORM, headers=SAME_ORIGIN)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/maintenance?done=declared"
    (row,) = rows(web)
    # 10:00 to 12:00 in London (summer time) is 09:00 to 11:00 UTC: the form's times are the plan's.
    assert (row.starts_at, row.ends_at) == (T0 - timedelta(minutes=30), T0 + timedelta(minutes=90))
    assert (row.components, row.created_by, row.reason) == (["crm", "ivr"], "responder", FORM["reason"])
    api = (await client.get("/api/v1/maintenance?active=true")).json()
    assert [w["key"] for w in api["windows"]] == [f"api:{row.id}"]

    html = (await client.get(done.headers["location"])).text
    assert "Maintenance window declared" in html
    active = section(html, "active")
    assert keys(active) == [f"api-{row.id}"]
    assert "Mon 15 Jun 10:00 → Mon 15 Jun 12:00" in active
    assert "Covers: Customer records (CRM), CloudCX IVR" in active and "Declared by responder" in active
    assert forms(html) == [f"/maintenance/api:{row.id}/cancel", "/maintenance"]

    done = await client.post(f"/maintenance/api:{row.id}/cancel", headers=SAME_ORIGIN)
    assert done.status_code == 303 and done.headers["location"] == "/maintenance?done=cancelled"
    html = (await client.get(done.headers["location"])).text
    assert "Maintenance window cancelled" in html and keys(section(html, "active")) == []
    past = section(html, "past")
    assert keys(past) == [f"api-{row.id}"] and "cancelled Mon 15 Jun 10:30 by responder" in past
    assert forms(html) == ["/maintenance"]
    assert rows(web)[0].cancelled_at is not None


@pytest.mark.parametrize(
    ("form", "status", "reason"),
    [
        ({"ends": "2026-06-15T09:00"}, 400, "ends_at: 2026-06-15T09:00:00+01:00 must be after starts_at"),
        ({"components": ["crm", "mainframe"]}, 400, "components[1]: no component 'mainframe' in the plan"),
        ({"ends": "2026-06-23T10:00"}, 400, "more than 7 days; declare shorter windows"),
        ({"reason": "x" * 1001}, 400, "reason: at most 1000 characters"),
        ({"reason": "  "}, 400, "reason: say what the work is"),
        ({"starts": "2026-06-14T10:00", "ends": "2026-06-14T12:00"}, 400, "which has passed"),
        ({"starts": "15/06/2026 10:00"}, 400, "From: '15/06/2026 10:00' is not a date and time"),
    ],
)
async def test_bad_input_is_shown_on_the_page_with_the_form_kept(
    web: Web, client: httpx.AsyncClient, form: dict[str, object], status: int, reason: str
) -> None:
    await log_in(client, Role.MANAGER)
    data = FORM | form
    refused = await client.post("/maintenance", data=data, headers=SAME_ORIGIN)
    assert refused.status_code == status, refused.text
    error = re.search(r'id="maintenance-error">([^<]+)<', refused.text)
    assert error is not None and reason.lower() in error.group(1).replace("&#39;", "'").lower()
    declare = section(refused.text, "declare")
    assert f'value="{data["starts"]}"' in declare and f'value="{data["ends"]}"' in declare
    assert '<option value="crm" selected>' in declare and '<option value="acd">' in declare
    assert rows(web) == []


async def test_cancelling_a_plan_window_or_no_window_is_refused_on_the_page(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.MANAGER)
    refused = await client.post("/maintenance/plan:crm-patching/cancel", headers=SAME_ORIGIN)
    assert refused.status_code == 409 and 'id="maintenance-error"' in refused.text
    assert "edit the plan's maintenance section" in refused.text.replace("&#39;", "'")
    missing = await client.post("/maintenance/api:4242/cancel", headers=SAME_ORIGIN)
    assert missing.status_code == 404
    assert "No maintenance window 'api:4242'" in missing.text.replace("&#39;", "'")


async def test_past_windows_are_paged_newest_first(web: Web, client: httpx.AsyncClient) -> None:
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        made = [
            declare_window(
                session,
                reason=f"Work {n}",
                components=["crm"],
                starts_at=T0 + timedelta(hours=n),
                ends_at=T0 + timedelta(hours=n, minutes=30),
                created_by="test",
                now=T0,
                plan=plan,
            ).key
            for n in range(25)
        ]
    web.clock.set(T0 + timedelta(hours=12, minutes=45))  # the first 13 have ended; the others are to come
    await log_in(client, Role.VIEWER)
    html = (await client.get("/maintenance")).text
    assert keys(section(html, "planned")) == [*[k.replace(":", "-") for k in made[13:]], "plan-crm-patching"]
    past = section(html, "past")
    ended = [k.replace(":", "-") for k in made[:13]][::-1]
    assert keys(past) == ended
    assert 'id="older"' not in past
    web.clock.set(T0 + timedelta(days=2))  # all 25 have ended: 20 on the first page, 5 on the next
    await log_in(client, Role.VIEWER)  # a login lasts 12 hours
    html = (await client.get("/maintenance")).text
    ended = [k.replace(":", "-") for k in made][::-1]
    assert keys(section(html, "past")) == ended[:20]
    older = re.search(r'<a href="([^"]+)" id="older">', html)
    assert older is not None
    second = await client.get(older.group(1))
    assert second.status_code == 200, second.text[-3000:]
    html = second.text
    assert keys(section(html, "past")) == ended[20:] and 'id="older"' not in html and 'id="newest"' in html


async def test_a_viewer_is_refused_and_a_cross_site_post_is_refused(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.MANAGER)
    assert (await client.post("/maintenance", data=FORM, headers=SAME_ORIGIN)).status_code == 303
    (row,) = rows(web)
    posts = [("/maintenance", FORM), (f"/maintenance/api:{row.id}/cancel", {})]
    async with web.client() as viewer:
        await log_in(viewer, Role.VIEWER)
        for path, data in posts:
            refused = await viewer.post(path, data=data, headers=SAME_ORIGIN)
            assert refused.status_code == 403 and "does not allow this" in refused.text, path
    for path, data in posts:
        forged = await client.post(path, data=data, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403 and "cross-site" in forged.text, path
    assert [(r.id, r.cancelled_at) for r in rows(web)] == [(row.id, None)]
