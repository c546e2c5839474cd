"""The review and actions over HTTP, on SQLite and PostgreSQL: drafted once resolved, exported as
JSON, Markdown and HTML, written and signed off; actions set, listed, closed; an overdue action's
owner reminded once through the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from _web import T0, Web, client, web
from test_api_incidents import open_incident_for_open_outage
from test_api_outages import fail_components

from standby.access.roles import Role
from standby.config import Settings
from standby.detect.history import list_outages
from standby.notify.outbox_desk import list_messages
from standby.plan.versions import current_plan
from standby.respond.incident_service import follow_outage, transition
from standby.respond.responder import ResponseSettings, respond_once
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]


def resolve_crm_outage(web: Web) -> int:
    """An incident of a CRM outage of 25 minutes that nobody acknowledged, resolved at 30 minutes."""
    fail_components(web, "crm")
    incident_id = open_incident_for_open_outage(web)
    fail_components(web, minutes=25, up=("crm",))
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        (ended,) = list_outages(session)
        follow_outage(
            session, incident_id=incident_id, outage=ended, plan=plan, now=T0 + timedelta(minutes=25)
        )
        transition(
            session, incident_id=incident_id, to="resolved", by="amara", now=T0 + timedelta(minutes=30)
        )
    web.clock.set(T0 + timedelta(minutes=30))
    return incident_id


async def resolved_incident(web: Web, client) -> int:
    """As `resolve_crm_outage`, from a test that holds a client."""
    return resolve_crm_outage(web)


async def test_the_review_is_drafted_exported_written_and_signed_off(web: Web, client):
    fail_components(web, "crm")
    open_id = open_incident_for_open_outage(web)
    viewer, manager = web.bearer(Role.VIEWER), web.bearer(Role.MANAGER)
    early = await client.get(f"/api/v1/incidents/{open_id}/review", headers=viewer)
    assert early.status_code == 409 and "once the incident is resolved" in early.json()["detail"]
    fail_components(web, minutes=25, up=("crm",))
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        (ended,) = list_outages(session)
        follow_outage(session, incident_id=open_id, outage=ended, plan=plan, now=T0 + timedelta(minutes=25))
    web.clock.set(T0 + timedelta(minutes=30))
    await client.post(f"/api/v1/incidents/{open_id}/state", json={"state": "resolved"}, headers=manager)

    review = (await client.get(f"/api/v1/incidents/{open_id}/review", headers=viewer)).json()
    assert review["ready"] is True and review["state"] == "resolved"
    assert (
        review["times"]["started"] == T0.isoformat()
        and review["times"]["recovered"] == (T0 + timedelta(minutes=25)).isoformat()
    )
    assert review["time_to_detect_s"] == 0.0 and review["time_to_recover_s"] == 1500.0
    assert review["time_to_resolve_s"] == 1800.0
    # Nobody acknowledged: the outage's end stopped the paging.
    assert review["time_to_acknowledge_s"] is None
    ack = next(m for m in review["measures"] if m["name"] == "time_to_acknowledge_s")
    assert ack["text"] == "never" and ack["definition"].startswith("From detection")
    assert review["impact"]["simulation"]["minutes"] == 25
    assert review["impact"]["forecasts"] == []
    assert "Partial" in review["summary"] or "CRM" in review["summary"]

    md = await client.get(f"/api/v1/incidents/{open_id}/review?format=md", headers=viewer)
    assert md.headers["content-type"].startswith("text/markdown")
    assert "| time_to_acknowledge_s | never |" in md.text and "No live forecast was made." in md.text
    html = await client.get(f"/api/v1/incidents/{open_id}/review?format=html", headers=viewer)
    assert html.headers["content-type"].startswith("text/html")
    assert "attachment" in html.headers["content-disposition"]
    assert "<script" not in html.text and "<svg" in html.text and "@page { size: A4" in html.text

    refused = await client.put(f"/api/v1/incidents/{open_id}/review", json={"factors": "x"}, headers=viewer)
    assert refused.status_code == 403
    written = await client.put(
        f"/api/v1/incidents/{open_id}/review",
        json={"factors": "The CRM vendor's certificate expired.", "lucky": "A quiet morning."},
        headers=manager,
    )
    assert written.status_code == 200, written.text
    assert written.json()["written"]["factors"] == "The CRM vendor's certificate expired."
    signed = await client.post(f"/api/v1/incidents/{open_id}/review/sign-off", headers=manager)
    assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "reviewed"
    incident = (await client.get(f"/api/v1/incidents/{open_id}", headers=viewer)).json()
    assert incident["state"] == "reviewed" and incident["reviewed_at"] is not None
    again = await client.post(f"/api/v1/incidents/{open_id}/review/sign-off", headers=manager)
    assert again.status_code == 409


async def test_actions_are_set_listed_closed_and_their_owner_reminded_once(web: Web, client):
    incident_id = await resolved_incident(web, client)
    manager, viewer = web.bearer(Role.MANAGER), web.bearer(Role.VIEWER)
    bad = await client.post(
        "/api/v1/actions",
        json={
            "title": "x",
            "owner": "nobody",
            "due": "2026-06-20",
            "kind": "prevent",
            "incident_id": incident_id,
        },
        headers=manager,
    )
    assert bad.status_code == 400 and "owner" in bad.json()["detail"]
    bad_link = await client.post(
        "/api/v1/actions",
        json={
            "title": "x",
            "owner": "amara",
            "due": "2026-06-20",
            "kind": "prevent",
            "links": ["component:nope"],
        },
        headers=manager,
    )
    assert bad_link.status_code == 400
    due = T0 + timedelta(hours=2)
    made = await client.post(
        "/api/v1/actions",
        json={
            "title": "Monitor the CRM certificate's expiry",
            "owner": "amara",
            "due": due.isoformat(),
            "kind": "detect",
            "links": ["component:crm"],
            "incident_id": incident_id,
        },
        headers=manager,
    )
    assert made.status_code == 201, made.text
    action = made.json()
    assert made.headers["location"] == f"/api/v1/actions/{action['id']}"
    assert action["state"] == "open" and action["overdue"] is False
    other = await client.post(
        "/api/v1/actions",
        json={"title": "Drill the CRM failover", "owner": "dev", "due": "2026-12-31", "kind": "process",
              "source": "exercise 3"},
        headers=manager,
    )  # fmt: skip
    assert other.status_code == 201 and other.json()["incident_id"] is None

    settings = ResponseSettings(
        secret="s" * 40,
        base_url="https://standby.example.org",
        config=Settings(database_url="sqlite://", public_url="https://standby.example.org"),
    )

    def pass_at(minutes: float) -> int:
        with unit_of_work(web.factory) as session:
            _, plan = current_plan(session)  # type: ignore[misc]
            return respond_once(
                session, plan=plan, now=due + timedelta(minutes=minutes), settings=settings, holder="w"
            ).reminders

    def reminders() -> list[str]:
        with unit_of_work(web.factory) as session:
            return sorted(m.key for m in list_messages(session, limit=100) if m.purpose == "action-reminder")

    assert pass_at(-1) == 0 and reminders() == []
    # Falling due: reminded within the next pass, on each of the owner's channels, once.
    assert pass_at(0.5) == 1
    first = reminders()
    assert len(first) == 2 and all(k.startswith(f"action-due:{action['id']}:") for k in first)
    assert pass_at(1) == 0 and pass_at(60 * 24) == 0 and reminders() == first
    # A week on, once more.
    assert pass_at(60 * 24 * 7 + 1) == 1 and len(reminders()) == 4
    assert pass_at(60 * 24 * 7 + 2) == 0 and len(reminders()) == 4

    web.clock.set(due + timedelta(minutes=5))
    overdue = (await client.get("/api/v1/actions?overdue=true", headers=viewer)).json()["actions"]
    assert [a["id"] for a in overdue] == [action["id"]]
    mine = (await client.get("/api/v1/actions?owner=dev", headers=viewer)).json()["actions"]
    assert [a["title"] for a in mine] == ["Drill the CRM failover"]
    of_incident = (await client.get(f"/api/v1/actions?incident={incident_id}", headers=viewer)).json()
    assert len(of_incident["actions"]) == 1
    empty_note = await client.post(
        f"/api/v1/actions/{action['id']}/close", json={"note": " "}, headers=manager
    )
    assert empty_note.status_code == 400
    closed = await client.post(
        f"/api/v1/actions/{action['id']}/close", json={"note": "Alert added at 30 days."}, headers=manager
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert closed.json()["close_note"] == "Alert added at 30 days."
    again = await client.post(f"/api/v1/actions/{action['id']}/close", json={"note": "x"}, headers=manager)
    assert again.status_code == 409
    assert pass_at(60 * 24 * 14 + 1) == 0  # closed: nobody is reminded any more
    one = (await client.get(f"/api/v1/actions/{action['id']}", headers=viewer)).json()
    assert one["state"] == "closed" and one["links"] == ["component:crm"]
    assert (await client.get("/api/v1/actions/999999", headers=viewer)).status_code == 404


async def test_the_reviews_across_incidents(web: Web, client):
    viewer = web.bearer(Role.VIEWER)
    empty = (await client.get("/api/v1/reviews", headers=viewer)).json()
    assert empty["quarters"] == [] and empty["actions"] == {"open": 0, "overdue": 0, "closed": 0}
    incident_id = await resolved_incident(web, client)
    made = await client.post(
        "/api/v1/actions",
        json={"title": "Watch the certificate", "owner": "dev", "kind": "detect", "incident_id": incident_id,
              "due": (T0 + timedelta(minutes=40)).isoformat()},
        headers=web.bearer(Role.MANAGER),
    )  # fmt: skip
    assert made.status_code == 201
    web.clock.set(T0 + timedelta(hours=1))
    found = (await client.get("/api/v1/reviews", headers=viewer)).json()
    (quarter,) = found["quarters"]
    assert quarter["quarter"] == "2026-Q2" and quarter["incidents"] == 1
    recover = quarter["measures"]["time_to_recover_s"]
    assert recover == {"count": 1, "median_s": 1500.0, "p90_s": 1500.0}
    assert quarter["measures"]["time_to_acknowledge_s"]["count"] == 0
    assert found["definitions"]["time_to_recover_s"].startswith("From detection")
    assert [(c["id"], c["outages"]) for c in found["outages_per_component"]] == [("crm", 1)]
    assert len(found["outages_per_vendor"]) <= 1
    assert found["actions"] == {"open": 1, "overdue": 1, "closed": 0}
    assert [r["incident_id"] for r in found["reviews"]] == [incident_id]
    page = await client.get("/reviews", headers=viewer)
    assert page.status_code == 200 and page.text.count('class="chart"') >= 6 + 3
