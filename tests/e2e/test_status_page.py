"""The public status page over HTTP, on SQLite and PostgreSQL: before, during and after an outage;
planned maintenance announced ahead; Statuspage's v2 JSON with its documented fields; the Atom feed
read by feedparser; ETag, Last-Modified, 304 and Cache-Control; the communications lead's update;
and the page still served, unchanged, while the database is unreachable."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
import httpx
import pytest
from _status import INTERNAL_NAMES, ivr_back, ivr_down, ivr_exercise, refresh
from _web import T0, Served, Web, make_web, seed_plan, web
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.clock import SystemClock
from standby.config import Settings
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import record_plan
from standby.store.engine import make_engine, unit_of_work
from standby.web.app import create_app

pytestmark = pytest.mark.anyio
__all__ = ["web"]

SAME_ORIGIN = {"Origin": "http://testserver"}

# Atlassian Statuspage's documented v2 fields (developer.statuspage.io, "Status API").
PAGE_FIELDS = {"id", "name", "url", "time_zone", "updated_at"}
STATUS_FIELDS = {"indicator", "description"}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
COMPONENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INCIDENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
IMPACTS = {"none", "minor", "major", "critical"}
UPDATE_FIELDS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}
MAINTENANCE_FIELDS = INCIDENT_FIELDS | {"scheduled_for", "scheduled_until"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}


async def get(web: Web, path: str, **headers: str) -> httpx.Response:
    async with web.client() as client:
        return await client.get(path, headers=headers)


async def v2(web: Web, name: str) -> dict[str, Any]:
    response = await get(web, f"/api/v2/{name}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body["page"]) == PAGE_FIELDS
    return body


def check_component(component: dict[str, Any]) -> None:
    assert set(component) == COMPONENT_FIELDS
    assert component["status"] in COMPONENT_STATUSES
    assert isinstance(component["position"], int) and isinstance(component["group"], bool)


def check_incident(incident: dict[str, Any], fields: set[str] = INCIDENT_FIELDS) -> None:
    assert set(incident) == fields
    assert incident["incident_updates"], incident
    for update in incident["incident_updates"]:
        assert set(update) == UPDATE_FIELDS
        assert update["incident_id"] == incident["id"] and update["body"]
    for component in incident["components"]:
        check_component(component)


def no_internal_names(text: str) -> None:
    for word in INTERNAL_NAMES:
        assert word not in text, f"{word!r} reached the public page"


async def test_before_during_and_after_an_outage(web: Web, tmp_path: Path) -> None:
    # Before: every queue under its own name, all operational.
    page = await get(web, "/status")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "All Systems Operational" in html
    for name in ("Gas emergency line", "Billing and payments", "Moving home (sales)"):
        assert name in html
    assert 'class="nav' not in html and "Log out" not in html  # public: no navigation bar
    assert "How uptime is counted" in html and "not counted as down" in html
    no_internal_names(html)
    summary = await v2(web, "summary.json")
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert [c["status"] for c in summary["components"]] == ["operational"] * 3
    assert summary["incidents"] == []
    assert (await v2(web, "incidents/unresolved.json"))["incidents"] == []

    # During: the IVR is down, billing and moving home are lost; the customers' text is published.
    incident_id = ivr_down(web, tmp_path)
    refresh(web)
    summary = await v2(web, "summary.json")
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert summary["status"]["indicator"] == "major"
    assert summary["status"]["description"] == "Partial System Outage"
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses == {"emergency": "operational", "billing": "major_outage", "moving": "major_outage"}
    (incident,) = summary["incidents"]
    check_incident(incident)
    assert incident["id"] == str(incident_id) and incident["status"] == "investigating"
    assert incident["impact"] == "major"
    assert incident["name"] == "Service disruption: Billing and payments, Moving home (sales)"
    assert {c["id"] for c in incident["components"]} == {"billing", "moving"}
    assert "cannot answer calls about Billing and payments" in incident["incident_updates"][0]["body"]
    html = (await get(web, "/status")).text
    assert "Partial System Outage" in html and "Major outage" in html
    assert "cannot answer calls about Billing and payments" in html
    no_internal_names(html)
    permalink = await get(web, f"/status/incidents/{incident_id}")
    assert permalink.status_code == 200 and "Investigating" in permalink.text
    no_internal_names(permalink.text)
    assert incident["shortlink"].endswith(f"/status/incidents/{incident_id}")
    assert (await v2(web, "incidents/unresolved.json"))["incidents"] == [incident]

    # After: the IVR answers again; the resolved text is published; today's bar shows 40 minutes.
    ivr_back(web, tmp_path, incident_id, minutes=40)
    refresh(web)
    summary = await v2(web, "summary.json")
    assert summary["status"]["indicator"] == "none" and summary["incidents"] == []
    (incident,) = (await v2(web, "incidents.json"))["incidents"]
    check_incident(incident)
    assert incident["status"] == "resolved" and incident["resolved_at"] is not None
    assert incident["incident_updates"][0]["status"] == "resolved"
    own = (await get(web, "/status.json")).json()
    days = {s["id"]: s["days"][-1] for s in own["services"]}
    assert days["billing"] == {"date": "2026-06-15", "down_minutes": 40.0}
    assert days["emergency"]["down_minutes"] == 0
    assert len(own["services"][0]["days"]) == 90
    html = (await get(web, "/status")).text
    assert "Past incidents" in html and "Resolved" in html and "day-some" in html
    no_internal_names(html)


async def test_the_status_json_and_the_components(web: Web) -> None:
    status = await v2(web, "status.json")
    assert set(status) == {"page", "status"} and set(status["status"]) == STATUS_FIELDS
    assert status["status"]["indicator"] in INDICATORS
    components = await v2(web, "components.json")
    for component in components["components"]:
        check_component(component)
    assert [c["position"] for c in components["components"]] == [1, 2, 3]
    assert (await v2(web, "incidents.json"))["incidents"] == []


async def test_the_rendered_files_are_written_to_a_folder(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "public"
    web = make_web(session_factory, tmp_path, status_dir=folder)
    refresh(web)
    for path, file in (
        ("/status", "status/index.html"),
        ("/status.json", "status.json"),
        ("/status/feed.atom", "status/feed.atom"),
        ("/api/v2/summary.json", "api/v2/summary.json"),
        ("/api/v2/incidents/unresolved.json", "api/v2/incidents/unresolved.json"),
    ):
        assert (folder / file).read_bytes() == (await get(web, path)).content, file
    web.set_state("ivr", "down")
    refresh(web)
    assert "Partial System Outage" in (folder / "status/index.html").read_text(encoding="utf-8")
    assert not list(folder.rglob("*.tmp"))


async def test_planned_maintenance_is_announced_ahead(web: Web) -> None:
    tomorrow = T0 + timedelta(days=1)
    async with web.client() as client:
        declared = await client.post(
            "/api/v1/maintenance",
            json={
                "reason": "Patch the CRM database (internal ticket OPS-7)",
                "components": ["crm"],
                "starts_at": tomorrow.isoformat(),
                "minutes": 60,
            },
            headers=web.bearer(Role.MANAGER),
        )
    assert declared.status_code == 201, declared.text
    refresh(web)
    works = (await v2(web, "scheduled-maintenances.json"))["scheduled_maintenances"]
    ours = [w for w in works if w["scheduled_for"] == "2026-06-16T09:30:00Z"]
    assert len(ours) == 1, works
    check_incident(ours[0], MAINTENANCE_FIELDS)
    assert ours[0]["status"] == "scheduled" and ours[0]["impact"] == "maintenance"
    assert ours[0]["scheduled_until"] == "2026-06-16T10:30:00Z"
    assert [c["id"] for c in ours[0]["components"]] == ["moving"]  # only moving home needs the CRM
    html = (await get(web, "/status")).text
    assert "Planned maintenance" in html and "Scheduled" in html
    assert "OPS-7" not in html and "Patch" not in html  # the reason is for the engineers
    for work in works:
        assert work["status"] in MAINTENANCE_STATUSES

    # While it runs, the CRM is in maintenance: moving home is under maintenance, not down.
    web.clock.set(tomorrow + timedelta(minutes=10))
    web.set_state("crm", "maintenance")
    refresh(web)
    summary = await v2(web, "summary.json")
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses["moving"] == "under_maintenance"
    assert summary["status"]["indicator"] == "maintenance"
    assert any(w["status"] == "in_progress" for w in summary["scheduled_maintenances"])
    active = (await v2(web, "scheduled-maintenances/active.json"))["scheduled_maintenances"]
    assert active and {w["status"] for w in active} == {"in_progress"}
    upcoming = (await v2(web, "scheduled-maintenances/upcoming.json"))["scheduled_maintenances"]
    assert {w["status"] for w in upcoming} <= {"scheduled"}


async def test_the_feed_is_read_by_a_feed_reader(web: Web, tmp_path: Path) -> None:
    empty = await get(web, "/status/feed.atom")
    assert empty.status_code == 200 and empty.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(empty.content)
    assert not parsed.bozo and parsed.version == "atom10" and parsed.entries == []
    incident_id = ivr_down(web, tmp_path)
    ivr_back(web, tmp_path, incident_id)
    refresh(web)
    parsed = feedparser.parse((await get(web, "/status/feed.atom")).content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "Northwind Energy Customer Care status"
    (entry,) = parsed.entries
    assert entry.title == "Service disruption: Billing and payments, Moving home (sales) (Resolved)"
    assert entry.link.endswith(f"/status/incidents/{incident_id}")
    assert "Resolved" in entry.content[0].value and "cannot answer calls" in entry.content[0].value
    no_internal_names(entry.content[0].value)


async def test_revalidation_answers_304_and_a_change_a_new_etag(web: Web) -> None:
    for path in ("/status", "/status.json", "/status/feed.atom", "/api/v2/summary.json"):
        first = await get(web, path)
        assert first.status_code == 200
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert "stale-if-error=" in first.headers["cache-control"]
        assert "public" in first.headers["cache-control"]
        again = await get(web, path, **{"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert (await get(web, path, **{"If-Modified-Since": modified})).status_code == 304
        assert (await get(web, path, **{"If-None-Match": '"other"'})).status_code == 200
        long_ago = format_datetime(T0 - timedelta(days=1), usegmt=True)
        assert (await get(web, path, **{"If-Modified-Since": long_ago})).status_code == 200
        assert (await get(web, path, **{"If-Modified-Since": "yesterday"})).status_code == 200
    before = (await get(web, "/status")).headers["etag"]
    assert web.app.state.status_board.refresh(force=True) is True  # rendered again, same bytes
    assert (await get(web, "/status")).headers["etag"] == before
    web.set_state("ivr", "down")
    refresh(web)
    changed = await get(web, "/status", **{"If-None-Match": before})
    assert changed.status_code == 200 and changed.headers["etag"] != before
    async with web.client() as client:
        head = await client.head("/status")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == changed.headers["etag"]


async def test_requests_never_read_the_database(web: Web, engine: Engine) -> None:
    refresh(web)
    statements: list[str] = []

    def heard(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", heard)
    try:
        for _ in range(20):
            for path in ("/status", "/status.json", "/status/feed.atom", "/api/v2/summary.json"):
                assert (await get(web, path)).status_code == 200
        assert statements == []
        web.app.state.status_board.refresh(force=True)  # the listener does hear the board's queries
        assert statements
    finally:
        event.remove(engine, "before_cursor_execute", heard)


async def test_an_unknown_notice_is_404_and_nothing_needs_a_login(web: Web) -> None:
    assert (await get(web, "/status/incidents/999")).status_code == 404
    assert (await get(web, "/status/incidents/0")).status_code == 422
    for path in ("/status", "/api/v2/incidents.json", "/api/v2/scheduled-maintenances.json"):
        response = await get(web, path, Cookie="standby_session=forged")
        assert response.status_code == 200, path


async def test_the_communications_lead_publishes_an_update(web: Web, tmp_path: Path) -> None:
    incident_id = ivr_down(web, tmp_path)
    async with web.client() as client:
        body = {"status": "identified", "text": "We found the fault with our phone menu and are fixing it."}
        path = f"/api/v1/incidents/{incident_id}/status-updates"
        refused = await client.post(path, json=body, headers=web.bearer(Role.VIEWER))
        assert refused.status_code == 403
        posted = await client.post(path, json=body, headers=web.bearer(Role.MANAGER))
        assert posted.status_code == 201, posted.text
        assert posted.json()["status"] == "identified"
        wrong = await client.post(path, json={**body, "status": "fixed"}, headers=web.bearer(Role.MANAGER))
        assert wrong.status_code == 422
        blank = await client.post(path, json={**body, "text": "   "}, headers=web.bearer(Role.MANAGER))
        assert blank.status_code == 400 and "empty" in blank.text
        missing = await client.post(
            "/api/v1/incidents/999/status-updates", json=body, headers=web.bearer(Role.MANAGER)
        )
        assert missing.status_code == 404
    refresh(web)
    (incident,) = (await v2(web, "summary.json"))["incidents"]
    assert incident["status"] == "identified"
    assert incident["incident_updates"][0]["body"] == body["text"]
    assert body["text"] in (await get(web, "/status")).text


async def test_the_plan_names_the_public_services(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, with_plan=False)
    text = reference_plan_text() + (
        "\nstatus_page:\n  services:\n"
        "    - {id: phone, name: Phone lines, description: Calls to 0800 111 222,\n"
        "       queues: [emergency, billing, moving]}\n"
        "    - {id: web-chat, name: Web chat, components: [crm]}\n"
    )
    with unit_of_work(web.factory) as session:
        record_plan(session, plan=load_plan_text(text), source=text, now=T0, loaded_by="test")
    web.set_state("crm", "down")
    refresh(web)
    components = (await v2(web, "components.json"))["components"]
    assert [(c["id"], c["name"], c["status"]) for c in components] == [
        ("phone", "Phone lines", "partial_outage"),  # moving home needs the CRM; the others answer
        ("web-chat", "Web chat", "major_outage"),
    ]
    assert components[0]["description"] == "Calls to 0800 111 222"
    html = (await get(web, "/status")).text
    assert "Web chat" in html and "Billing and payments" not in html


UNREACHABLE = "status page: kept the last rendering; the database is unreachable"


async def test_the_page_is_served_while_the_database_is_unreachable(
    session_factory: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real server with its refresh task running: the database goes away, the page stays."""
    seed_plan(session_factory)
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    app = create_app(settings, clock=SystemClock(), session_factory=session_factory)
    original = session_factory.kw["bind"]
    unreachable = make_engine("postgresql+psycopg://standby@127.0.0.1:1/nowhere")
    with Served(app) as server:
        async with httpx.AsyncClient(base_url=server.base) as client:
            first = await client.get("/status")
            assert first.status_code == 200
            session_factory.configure(bind=unreachable)
            try:
                # At least one refresh of the task, which fails (it says so in the log): waited
                # for, rather than slept through its whole period.
                deadline = time.monotonic() + 10
                while not any(UNREACHABLE in record.getMessage() for record in caplog.records):
                    assert time.monotonic() < deadline, "the refresh task did not run within 10 s"
                    await asyncio.sleep(0.05)
                assert app.state.status_board.refresh(force=True) is False
                for path in ("/status", "/api/v2/summary.json", "/status/feed.atom"):
                    again = await client.get(path)
                    assert again.status_code == 200, path
                second = await client.get("/status")
                assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
                assert (await client.get("/healthz")).status_code == 503  # it is unreachable indeed
            finally:
                session_factory.configure(bind=original)
                unreachable.dispose()


async def test_a_change_is_live_within_seconds_without_a_request_touching_the_database(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    seed_plan(session_factory)
    web = make_web(session_factory, tmp_path, with_plan=False, with_users=False)
    app = create_app(
        Settings(database_url="sqlite://", data_dir=tmp_path),
        clock=SystemClock(),
        session_factory=session_factory,
    )
    with Served(app) as server:
        async with httpx.AsyncClient(base_url=server.base) as client:
            before = (await client.get("/api/v2/status.json")).json()
            assert before["status"]["indicator"] == "none"
            web.set_state("ivr", "down")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                now = (await client.get("/api/v2/status.json")).json()
                if now["status"]["indicator"] == "major":
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the page did not show the IVR's outage within 10 s")


async def test_an_exercise_never_reaches_the_public_page(web: Web, tmp_path: Path) -> None:
    """An exercise takes the IVR down through the real correlation and response: the public sees nothing."""
    _, incident_id = ivr_exercise(web, tmp_path)
    refresh(web)
    summary = await v2(web, "summary.json")
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert {c["status"] for c in summary["components"]} == {"operational"}
    assert summary["incidents"] == []
    assert (await v2(web, "incidents.json"))["incidents"] == []
    html = (await get(web, "/status")).text
    assert "All Systems Operational" in html and "EXERCISE" not in html
    assert (await get(web, f"/status/incidents/{incident_id}")).status_code == 404
    own = (await get(web, "/status.json")).json()
    assert all(day["down_minutes"] == 0 for s in own["services"] for day in s["days"])
