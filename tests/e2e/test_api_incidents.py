"""Incidents over HTTP, on SQLite and PostgreSQL: opened by outages, declared, moved on, noted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from _web import T0, Web, client, log_in, web
from test_api_outages import fail_components

from standby.access.roles import Role
from standby.detect.history import list_outages
from standby.plan.versions import current_plan
from standby.respond.incident_service import follow_outage, open_for_outage
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]


def open_incident_for_open_outage(web: Web) -> int:
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        (outage,) = list_outages(session, open_only=True)
        incident, created = open_for_outage(session, outage=outage, plan=plan, now=T0)
        again, created_again = open_for_outage(session, outage=outage, plan=plan, now=T0)
    assert created and not created_again and again.id == incident.id
    return incident.id


async def test_an_outage_opens_one_incident_that_follows_it_to_verification(web: Web, client):
    fail_components(web, "crm")
    incident_id = open_incident_for_open_outage(web)
    headers = web.bearer(Role.VIEWER)
    detail = (await client.get(f"/api/v1/incidents/{incident_id}", headers=headers)).json()
    assert detail["state"] == "detected"
    assert detail["classification"] == "partial"
    assert detail["severity"] == 2 and detail["severity_text"] == "SEV2 (major)"
    assert detail["escalation_policy"] == "platform"
    assert detail["timeline"][0]["text"].startswith("Detected: Partial: Customer records (CRM) down")
    responder = web.bearer(Role.RESPONDER)
    moved = await client.post(
        f"/api/v1/incidents/{incident_id}/state",
        json={"state": "diagnosing", "note": "CRM vendor called"},
        headers=responder,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["acknowledged_at"] is not None  # moving it on acknowledges it
    role = await client.post(
        f"/api/v1/incidents/{incident_id}/roles",
        json={"role": "commander", "person": "amara"},
        headers=responder,
    )
    assert role.json()["commander"] == "amara"
    await client.post(
        f"/api/v1/incidents/{incident_id}/notes", json={"text": "ETA 20 min"}, headers=responder
    )
    # The outage ends 25 minutes later: the incident waits for verification.
    fail_components(web, minutes=25, up=("crm",))
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        (ended,) = list_outages(session)
        assert follow_outage(
            session, incident_id=incident_id, outage=ended, plan=plan, now=T0 + timedelta(minutes=25)
        )
    detail = (await client.get(f"/api/v1/incidents/{incident_id}", headers=headers)).json()
    assert detail["state"] == "verifying"
    web.clock.set(T0 + timedelta(minutes=30))
    resolved = await client.post(
        f"/api/v1/incidents/{incident_id}/state", json={"state": "resolved"}, headers=responder
    )
    assert resolved.json()["state"] == "resolved"
    kinds = [(e["kind"], e["actor"]) for e in resolved.json()["timeline"]]
    assert kinds == [
        ("state", "standby"),
        ("state", "token:responder-token"),
        ("role", "token:responder-token"),
        ("note", "token:responder-token"),
        ("outage", "standby"),
        ("state", "token:responder-token"),
    ]
    listed = (await client.get("/api/v1/incidents?open=true", headers=headers)).json()
    assert listed == {"incidents": []}


async def test_declaring_and_the_doors(web: Web, client):
    declared = await client.post(
        "/api/v1/incidents",
        json={"title": "Agents report one-way audio", "classification": "partial", "queues": ["billing"]},
        headers=web.bearer(Role.MANAGER),
    )
    assert declared.status_code == 201, declared.text
    assert declared.headers["location"] == f"/api/v1/incidents/{declared.json()['id']}"
    assert declared.json()["declared_by"] == "token:manager-token"
    assert (await client.get("/api/v1/incidents")).status_code == 401
    forbidden = await client.post("/api/v1/incidents", json={"title": "x"}, headers=web.bearer(Role.VIEWER))
    assert forbidden.status_code == 403
    unknown_queue = await client.post(
        "/api/v1/incidents", json={"title": "x", "queues": ["nope"]}, headers=web.bearer(Role.MANAGER)
    )
    assert unknown_queue.status_code == 400 and "no queue 'nope'" in unknown_queue.json()["detail"]
    missing = await client.get("/api/v1/incidents/999", headers=web.bearer(Role.VIEWER))
    assert missing.status_code == 404 and "no incident 999" in missing.json()["detail"]
    backwards = await client.post(
        f"/api/v1/incidents/{declared.json()['id']}/state",
        json={"state": "fixed"},
        headers=web.bearer(Role.RESPONDER),
    )
    assert backwards.status_code == 400 and "unknown incident state 'fixed'" in backwards.json()["detail"]
    stranger = await client.post(
        f"/api/v1/incidents/{declared.json()['id']}/roles",
        json={"role": "commander", "person": "nobody"},
        headers=web.bearer(Role.RESPONDER),
    )
    assert stranger.status_code == 400 and "no person 'nobody'" in stranger.json()["detail"]


async def test_an_incident_follows_its_outage_as_it_widens(web: Web, client):
    fail_components(web, "trunk-a")
    incident_id = open_incident_for_open_outage(web)
    fail_components(web, "trunk-a", "trunk-b", minutes=1)
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        (outage,) = list_outages(session, open_only=True)
        assert follow_outage(
            session, incident_id=incident_id, outage=outage, plan=plan, now=T0 + timedelta(minutes=1)
        )
    detail = (await client.get(f"/api/v1/incidents/{incident_id}", headers=web.bearer(Role.VIEWER))).json()
    assert detail["classification"] == "total" and detail["severity"] == 1
    assert detail["title"].startswith("Total: SIP trunk, Carrier A, SIP trunk, Carrier B down")
    assert detail["timeline"][-1]["text"].startswith("Now total (SEV1 (critical))")


async def test_the_overview_shows_the_incidents_being_worked(web: Web, client):
    fail_components(web, "crm")
    incident_id = open_incident_for_open_outage(web)
    await log_in(client, Role.VIEWER)
    page = (await client.get("/")).text
    assert "Incidents being worked" in page
    assert f'<a href="/incidents/{incident_id}">{incident_id}</a>' in page  # its room
    assert "not yet: paging" in page and "SEV2" in page
