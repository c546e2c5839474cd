"""The exercises pages over HTTP, on SQLite and PostgreSQL: an exercise planned from the typed form,
started and finished, its results and the actions its findings became (once, assigned); plan and
vendor reviews recorded with evidence; home readiness and a mass-login campaign; refusals (a viewer,
an agent, a cross-site POST, bad input shown on the page with its reason and the form kept).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from _web import Web, log_in, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_incident_room import SAME_ORIGIN, forms

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import ActionRow, ExerciseRow

pytestmark = pytest.mark.anyio

AGENTS = "external_id,name,team,phone,email\ne1,Ada Lovelace,emergency-desk,+447700900101,\n"
PLANNED: dict[str, Any] = {
    "title": "CRM lost on a Monday",
    "planned_on": "2026-06-20",
    "down": ["crm"],
    "minutes": "30",
    "kind": ["acknowledged_within", "group_told_within", "tolerances_kept", ""],
    "agents": ["", "", "", ""],
    "row_minutes": ["5", "15", "", ""],
    "group": ["", "leadership", "", ""],
}


@pytest.fixture
def web(session_factory: sessionmaker[Session], tmp_path: Path) -> Web:
    return make_web(session_factory, tmp_path, secret_key="exercises-page-secret")


@pytest.fixture
async def client(web: Web) -> Any:
    async with web.client() as c:
        loaded = await c.post(
            "/api/v1/agents", content=AGENTS, headers={**web.bearer(Role.MANAGER), "Content-Type": "text/csv"}
        )
        assert loaded.status_code == 200, loaded.text
        yield c


def exercises(web: Web) -> list[ExerciseRow]:
    with unit_of_work(web.factory) as session:
        found = list(session.scalars(select(ExerciseRow).order_by(ExerciseRow.id)))
        session.expunge_all()
        return found


def actions(web: Web) -> list[tuple[int, str | None, str]]:
    with unit_of_work(web.factory) as session:
        return [(a.id, a.source, a.owner) for a in session.scalars(select(ActionRow).order_by(ActionRow.id))]


async def test_an_exercise_planned_started_and_finished_from_the_page(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.MANAGER)
    page = await client.get("/exercises")
    assert page.status_code == 200, page.text
    assert forms(page.text) == ["/exercises"] and 'id="next-due"' in page.text
    # The reference plan's last drill was 21 April 2026, every 6 months: next due 21 October.
    assert "2026-10-21" in page.text and "No exercise yet." in page.text
    assert 'href="/exercises/reviews"' in page.text and 'href="/exercises/readiness"' in page.text
    done = await client.post("/exercises", data=PLANNED, headers=SAME_ORIGIN)
    assert done.status_code == 303, re.findall(r'id="exercises-error">([^<]*)', done.text)
    assert done.headers["location"] == "/exercises?done=planned"
    (row,) = exercises(web)
    assert (row.title, row.down, row.minutes, row.state) == ("CRM lost on a Monday", ["crm"], 30, "planned")
    assert row.objectives == [
        {"kind": "acknowledged_within", "minutes": 5.0},
        {"kind": "group_told_within", "group": "leadership", "minutes": 15.0},
        {"kind": "tolerances_kept"},
    ]
    listed = (await client.get("/exercises?done=planned")).text
    assert "The exercise is planned." in listed and f"/exercises/{row.id}/start" in forms(listed)
    started = await client.post(f"/exercises/{row.id}/start", headers=SAME_ORIGIN)
    assert started.status_code == 303
    running = (await client.get("/exercises?state=running")).text
    assert f"/exercises/{row.id}/finish" in forms(running) and "running" in running
    web.clock.advance(timedelta(minutes=12))
    assert (await client.post(f"/exercises/{row.id}/finish", headers=SAME_ORIGIN)).status_code == 303
    again = await client.post(f"/exercises/{row.id}/finish", headers=SAME_ORIGIN)
    assert (
        again.status_code == 409
        and f"Exercise {row.id} is finished: only a running exercise finishes" in again.text
    )
    made = actions(web)
    assert len(made) == 3 and {m[1] for m in made} == {f"exercise:{row.id}"} and {m[2] for m in made} == {""}
    html = (await client.get("/exercises")).text
    results = re.search(rf'<article class="exercise" id="exercise-{row.id}">.*?</article>', html, re.S)
    assert results is not None
    text = results.group(0)
    assert text.count(">FAIL<") == 3 and "no incident was opened for the exercise&#39;s outage" in text
    assert f'href="/api/v1/exercises/{row.id}/report?format=html"' in text
    assert f'href="/api/v1/exercises/{row.id}/report?format=md"' in text
    for action_id, _, _ in made:
        assert f'id="action-{action_id}"' in text and f"/exercises/actions/{action_id}/assign" in text
    assert "owner unassigned" in text
    report = await client.get(f"/api/v1/exercises/{row.id}/report?format=html")
    assert report.status_code == 200 and f"(action {made[0][0]})" in report.text
    assigned = await client.post(
        f"/exercises/actions/{made[0][0]}/assign", data={"owner": "amara"}, headers=SAME_ORIGIN
    )
    assert assigned.status_code == 303
    assert actions(web)[0][2] == "amara" and len(actions(web)) == 3
    nobody = await client.post(
        f"/exercises/actions/{made[1][0]}/assign", data={"owner": "zed"}, headers=SAME_ORIGIN
    )
    assert (
        nobody.status_code == 400 and "Owner: no person &#39;zed&#39; in the plan&#39;s people" in nobody.text
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"down": ["kettle"]}, "Scenario.down: no component &#39;kettle&#39; in the plan"),
        ({"kind": ["agents_ready_within", "", "", ""]}, "Objective 1 (agents_ready_within): give the agents"),
        ({"kind": ["", "", "", ""]}, "Objectives: choose the kind of at least one objective"),
        (
            {"row_minutes": ["soon", "", "", ""]},
            "Objective 1 (acknowledged_within) minutes: &#39;soon&#39; is not",
        ),
        ({"group": ["", "", "", ""]}, "Objective 2 (group_told_within): choose the group to be told"),
        ({"minutes": "0"}, "Scenario.minutes: from 1 to 1440 minutes"),
    ],
)
async def test_bad_input_is_refused_on_the_page_with_the_form_kept(
    web: Web, client: httpx.AsyncClient, change: dict[str, Any], reason: str
) -> None:
    await log_in(client, Role.RESPONDER)
    refused = await client.post("/exercises", data={**PLANNED, **change}, headers=SAME_ORIGIN)
    assert refused.status_code == 400, refused.text
    assert reason in refused.text
    assert 'value="CRM lost on a Monday"' in refused.text
    assert exercises(web) == []


async def test_a_viewer_an_agent_and_a_cross_site_post_are_refused(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.get("/exercises")
    assert page.status_code == 200 and forms(page.text) == [] and "Plan an exercise" not in page.text
    assert 'href="/exercises/readiness"' not in page.text
    reviews = await client.get("/exercises/reviews")
    assert reviews.status_code == 200 and forms(reviews.text) == []
    assert (await client.get("/exercises/readiness")).status_code == 403
    posts = [
        ("/exercises", PLANNED), ("/exercises/1/start", {}), ("/exercises/1/finish", {}),
        ("/exercises/actions/1/assign", {"owner": "amara"}), ("/exercises/readiness/campaigns", {}),
        ("/exercises/reviews/plan", {"reviewed_on": "2026-06-01", "reviewed_by": "x"}),
        ("/exercises/reviews/vendor", {"vendor": "cloudcx", "reviewed_on": "2026-06-01", "reviewed_by": "x"}),
    ]  # fmt: skip
    for path, data in posts:
        refused = await client.post(path, data=data, headers=SAME_ORIGIN)
        assert refused.status_code == 403, (path, refused.status_code)
    await log_in(client, Role.AGENT)
    assert (await client.get("/exercises")).status_code == 200
    assert (await client.get("/exercises/reviews")).status_code == 403
    await log_in(client, Role.MANAGER)
    for path, data in posts:
        forged = await client.post(path, data=data, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403 and "cross-site" in forged.text, path
    assert exercises(web) == [] and actions(web) == []


async def test_plan_and_vendor_reviews_recorded_from_the_page(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.MANAGER)
    page = await client.get("/exercises/reviews")
    assert page.status_code == 200
    assert forms(page.text) == ["/exercises/reviews/plan", "/exercises/reviews/vendor"]
    due = re.search(r'<section class="card" id="due".*?</section>', page.text, re.S)
    assert due is not None and 'class="overdue"' in due.group(0)
    bad = await client.post(
        "/exercises/reviews/plan", data={"reviewed_on": "June", "reviewed_by": "Amara"}, headers=SAME_ORIGIN
    )
    assert bad.status_code == 400 and "Reviewed on: &#39;June&#39; is not a date" in bad.text
    assert 'value="Amara"' in bad.text
    done = await client.post(
        "/exercises/reviews/plan",
        data={"reviewed_on": "2026-06-10", "reviewed_by": "Amara Okafor", "signed_off_by": "Sam Reid"},
        headers=SAME_ORIGIN,
    )
    assert done.status_code == 303 and done.headers["location"] == "/exercises/reviews?done=plan"
    no_evidence = await client.post(
        "/exercises/reviews/vendor",
        data={"vendor": "cloudcx", "reviewed_on": "2026-06-11", "reviewed_by": "Jo"},
        headers=SAME_ORIGIN,
    )
    assert no_evidence.status_code == 400 and "Evidence: give a note, a link or a file" in no_evidence.text
    uploaded = await client.post(
        "/exercises/reviews/vendor",
        data={
            "vendor": "cloudcx",
            "reviewed_on": "2026-06-11",
            "reviewed_by": "Jo",
            "next_due": "2026-06-12",
        },
        files={"file": ("cloudcx plan.pdf", b"%PDF-1.4 the vendor's plan", "application/pdf")},
        headers=SAME_ORIGIN,
    )
    assert uploaded.status_code == 303, uploaded.text
    html = (await client.get("/exercises/reviews")).text
    assert "Amara Okafor" in html and "Sam Reid" in html
    link = re.search(r'href="(/api/v1/vendor-reviews/(\d+)/evidence)"', html)
    assert link is not None
    evidence = await client.get(link.group(1))
    assert evidence.status_code == 200 and evidence.content == b"%PDF-1.4 the vendor's plan"
    # Due on 12 June, three days before today (15 June): overdue, in red.
    assert re.search(
        r'<li class="overdue">The review of [^<]*contingency plan: due 2026-06-12 \(overdue\)</li>', html
    )


async def test_home_readiness_and_a_mass_login_campaign(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.MANAGER)
    page = await client.get("/exercises/readiness")
    assert page.status_code == 200 and forms(page.text) == ["/exercises/readiness/campaigns"]
    team = re.search(r'<tr id="team-emergency-desk">.*?</tr>', page.text, re.S)
    assert team is not None and "1 of" in team.group(0) and "never" in team.group(0)
    bad = await client.post("/exercises/readiness/campaigns", data={"target": "many"}, headers=SAME_ORIGIN)
    assert bad.status_code == 400 and "Target: &#39;many&#39; is not a whole number" in bad.text
    too_many = await client.post("/exercises/readiness/campaigns", data={"target": "50"}, headers=SAME_ORIGIN)
    assert too_many.status_code == 400, too_many.text
    started = await client.post("/exercises/readiness/campaigns", data={"target": "1"}, headers=SAME_ORIGIN)
    assert started.status_code == 303 and started.headers["location"] == "/exercises/readiness?done=campaign"
    html = (await client.get("/exercises/readiness?done=campaign")).text
    row = re.search(r'<tr id="campaign-(\d+)">.*?</tr>', html, re.S)
    assert row is not None and "0 / 1" in row.group(0) and "not yet" in row.group(0)
    assert "manager" in row.group(0)
