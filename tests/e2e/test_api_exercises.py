"""/api/v1/exercises, /plan-reviews and /vendor-reviews over HTTP, on SQLite and PostgreSQL:
doors, an exercise planned, started (its outage opened by correlation, flagged), finished and
reported; reviews recorded; the audit reads the exercise log and the reviews; reminders queued.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest
from _web import Web, client, web
from sqlalchemy import select

from standby.access.roles import Role
from standby.detect.correlation import Correlator
from standby.detect.outages import correlate
from standby.exercise.reviews_service import remind_reviews
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow, OutageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]

URL = "/api/v1/exercises"
GOOD = {
    "title": "CRM lost",
    "scenario": {"down": ["crm"], "minutes": 30},
    "objectives": [{"kind": "acknowledged_within", "minutes": 5}, {"kind": "tolerances_kept"}],
}


async def test_doors(web: Web, client: httpx.AsyncClient) -> None:
    for method, path, body in (
        ("POST", URL, GOOD), ("POST", f"{URL}/1/start", None), ("POST", f"{URL}/1/finish", None),
        ("POST", "/api/v1/plan-reviews", {"reviewed_on": "2026-06-01", "reviewed_by": "x"}),
    ):  # fmt: skip
        assert (await client.request(method, path, json=body)).status_code == 401
        refused = await client.request(method, path, json=body, headers=web.bearer(Role.VIEWER))
        assert refused.status_code == 403, (method, path)
    assert (await client.get(URL, headers=web.bearer(Role.VIEWER))).status_code == 200


async def test_an_exercise_over_http_and_the_audit_reads_the_log(web: Web, client: httpx.AsyncClient) -> None:
    manager = web.bearer(Role.MANAGER)
    bad = await client.post(
        URL, json={**GOOD, "scenario": {"down": ["kettle"], "minutes": 5}}, headers=manager
    )
    assert bad.status_code == 400 and "scenario.down: no component 'kettle'" in bad.json()["detail"]
    created = await client.post(URL, json=GOOD, headers=manager)
    assert created.status_code == 201, created.text
    exercise = created.json()
    assert exercise["state"] == "planned" and created.headers["location"] == f"{URL}/{exercise['id']}"
    assert (await client.get(f"{URL}/{exercise['id']}/report", headers=manager)).status_code == 409
    started = await client.post(f"{URL}/{exercise['id']}/start", json=None, headers=manager)
    assert started.status_code == 200 and started.json()["state"] == "running"
    again = await client.post(f"{URL}/{exercise['id']}/start", headers=manager)
    assert again.status_code == 409
    web.clock.advance(timedelta(seconds=5))
    with unit_of_work(web.factory) as session:
        found = current_plan(session)
        assert found is not None
        correlate(session, correlator=Correlator.from_plan(found[1]), maintenance=(), now=web.clock.now(),
                  holder="w")  # fmt: skip
    outages = (await client.get("/api/v1/outages", headers=manager)).json()
    listed = outages["outages"] if isinstance(outages, dict) else outages
    assert [o["exercise_id"] for o in listed] == [exercise["id"]]
    web.clock.advance(timedelta(minutes=10))
    finished = await client.post(f"{URL}/{exercise['id']}/finish", headers=manager)
    assert finished.status_code == 200
    results = finished.json()["results"]
    # No response pass ran: no incident, so nothing passes, and each failure is a finding.
    assert results["passed"] == 0 and len(results["findings"]) == 2
    markdown = await client.get(f"{URL}/{exercise['id']}/report?format=md", headers=manager)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "| On call acknowledged within 5 minutes | FAIL |" in markdown.text
    page = await client.get(f"{URL}/{exercise['id']}/report?format=html", headers=manager)
    assert page.text.startswith("<!doctype html>") and "<script" not in page.text
    assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]
    report = (await client.get(f"{URL}/{exercise['id']}/report", headers=manager)).json()
    assert report["exercise"]["scenario"] == {"down": ["crm"], "minutes": 30}
    listing = (await client.get(URL, headers=web.bearer(Role.VIEWER))).json()
    assert [e["id"] for e in listing["exercises"]] == [exercise["id"]]
    assert listing["programme"]["last_held"] == "2026-06-15"
    # The audit reads the exercise log, the plan reviews and the vendor reviews.
    audit = (await client.get("/api/v1/audit", headers=manager)).json()["findings"]
    codes = {f["code"]: f for f in audit}
    assert "drill-overdue" not in codes
    review = await client.post(
        "/api/v1/plan-reviews",
        json={"reviewed_on": "2026-06-14", "reviewed_by": "Amara Okafor", "signed_off_by": "Sam Reid"},
        headers=manager,
    )
    assert review.status_code == 201 and review.json()["changes"] == ["The first review recorded in Standby."]
    vendors = [f["subject"] for f in audit if f["code"] == "vendor-review-overdue"]
    assert vendors, "the reference plan has a vendor review to do"
    no_evidence = await client.post(
        "/api/v1/vendor-reviews",
        json={"vendor": vendors[0], "reviewed_on": "2026-06-10", "reviewed_by": "Jo", "evidence": {}},
        headers=manager,
    )
    assert no_evidence.status_code == 400 and "evidence" in no_evidence.json()["detail"]
    pdf = base64.b64encode(b"%PDF-1.4 their plan").decode()
    vendor = await client.post(
        "/api/v1/vendor-reviews",
        json={"vendor": vendors[0], "reviewed_on": "2026-06-10", "reviewed_by": "Jo",
              "evidence": {"file": {"name": "plan.pdf", "type": "application/pdf", "content_base64": pdf}}},
        headers=manager,
    )  # fmt: skip
    assert vendor.status_code == 201, vendor.text
    evidence = await client.get(f"/api/v1/vendor-reviews/{vendor.json()['id']}/evidence", headers=manager)
    assert evidence.content == b"%PDF-1.4 their plan"
    after = (await client.get("/api/v1/audit", headers=manager)).json()["findings"]
    assert not [f for f in after if f["code"] == "plan-review-overdue"]
    assert vendors[0] not in [f["subject"] for f in after if f["code"] == "vendor-review-overdue"]
    # Reminders: one per review, due date, stage and person, however often the worker asks.
    with unit_of_work(web.factory) as session:
        plan = current_plan(session)
        assert plan is not None
        later = web.clock.now() + timedelta(days=345)
        first = remind_reviews(session, plan=plan[1], today=later.date(), now=later)
        remind_reviews(session, plan=plan[1], today=later.date(), now=later)
        keys = session.scalars(
            select(MessageRow.idempotency_key).where(MessageRow.purpose == "review-reminder")
        ).all()
        assert first == len(keys)
        assert {k for k in keys if k.startswith("review-reminder:plan:")} == {
            f"review-reminder:plan:2027-06-14:soon:{person}" for person in ("sam", "amara", "jo")
        }
        assert session.scalars(select(OutageRow.exercise_id)).all() == [exercise["id"]]
