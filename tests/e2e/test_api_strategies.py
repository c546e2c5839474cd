"""Continuity strategies and the IVR message over HTTP, on SQLite and PostgreSQL: doors, decisions, 404s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from _web import T0, Web, client, log_in, web

from standby.access.roles import Role
from standby.detect.receiver_tokens import create_receiver_token, revoke_receiver_token
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.respond.continuity_service import evaluate
from standby.respond.incident_service import declare
from standby.store.engine import unit_of_work
from standby.store.tables import AgentRow, OutageRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

IVR = "/api/v1/ivr-message"


def strategies_url(incident_id: int) -> str:
    return f"/api/v1/incidents/{incident_id}/strategies"


@pytest.fixture
def incident(web: Web) -> int:
    """Leeds has lost power, a partial outage is open, and Standby has proposed its strategies."""
    web.set_state("leeds-power", "down")
    plan = load_plan_text(reference_plan_text())
    with unit_of_work(web.factory) as session:
        session.add(
            OutageRow(
                started_at=T0,
                detected_at=T0,
                classification="partial",
                peak_classification="partial",
                causes=["leeds-power"],
                components=["leeds-power"],
                sites=["leeds"],
                queues=[],
                degraded_queues=[],
                history={},
                summary="Leeds power down",
                updated_at=T0,
            )
        )
        for i in range(3):
            session.add(
                AgentRow(
                    external_id=f"e{i}",
                    name=f"Agent {i}",
                    team_id="emergency-desk",
                    phone=f"+44770090010{i}",
                    active=True,
                    updated_at=T0,
                )
            )
        incident_id = declare(
            session, title="Leeds is dark", classification="partial", plan=plan, by="user:manager", now=T0
        ).id
    with unit_of_work(web.factory) as session:
        evaluate(session, plan=plan, incident_id=incident_id, now=T0)
    return incident_id


@pytest.fixture
def receiver_token(web: Web) -> str:
    with unit_of_work(web.factory) as session:
        _, token = create_receiver_token(session, name="cloudcx-ivr", now=T0)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_every_door_checks_who_is_asking(web: Web, client: httpx.AsyncClient, incident: int) -> None:
    url = strategies_url(incident)
    doors: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", url, None),
        ("POST", f"{url}/leeds-to-home/approve", None),
        ("POST", f"{url}/leeds-to-home/decline", None),
        ("POST", f"{url}/leeds-to-home/complete", None),
        ("POST", f"{url}/leeds-to-home/steps/0", {"done": True}),
        ("GET", IVR, None),
    ]
    for method, path, body in doors:
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    for role in (Role.AGENT, Role.VIEWER):
        for method, path, body in doors:
            response = await client.request(method, path, json=body, headers=web.bearer(role))
            if method == "GET":
                assert response.status_code in (200, 204), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path)
                assert "manage_incidents" in response.json()["detail"]


async def test_the_commander_sees_approves_ticks_and_completes(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    url = strategies_url(incident)
    listed = await client.get(url, headers=web.bearer(Role.VIEWER))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["incident_id"] == incident
    assert [(s["strategy_id"], s["state"], s["reason"]) for s in body["strategies"]] == [
        ("leeds-to-home", "proposed", "site leeds is down"),
        ("overflow-to-harbour", "proposed", "capacity 0% of planned agents, below 60%"),
        ("outage-message", "proposed", "a partial outage is open"),
    ]
    home = body["strategies"][0]
    assert home["applies_now"] is True and home["relocation"]["agents"] == 48  # 9 + 30 + 9
    assert [s["done"] for s in home["steps"]] == [False, False]
    assert body["strategies"][1]["webhooks"] == ["http://127.0.0.1:8183/…"]

    approved = await client.post(f"{url}/leeds-to-home/approve", headers=web.bearer(Role.MANAGER))
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "running" and approved.json()["decided_by"] == "token:manager-token"
    again = await client.post(f"{url}/leeds-to-home/approve", headers=web.bearer(Role.MANAGER))
    assert again.status_code == 200 and again.json()["decided_at"] == approved.json()["decided_at"]

    ticked = await client.post(
        f"{url}/leeds-to-home/steps/0", json={"done": True}, headers=web.bearer(Role.RESPONDER)
    )
    assert ticked.status_code == 200, ticked.text
    step = ticked.json()["steps"][0]
    assert (
        step["done"] is True
        and step["by"] == "token:responder-token"
        and step["done_at"] == "2026-06-15T09:30:00Z"
    )
    unticked = await client.post(
        f"{url}/leeds-to-home/steps/0", json={"done": False}, headers=web.bearer(Role.RESPONDER)
    )
    assert unticked.json()["steps"][0]["done"] is False

    done = await client.post(f"{url}/leeds-to-home/complete", headers=web.bearer(Role.ADMIN))
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert done.json()["completed_by"] == "token:admin-token"

    detail = (await client.get(f"/api/v1/incidents/{incident}", headers=web.bearer(Role.VIEWER))).json()
    kinds = [
        (e["kind"], e["actor"]) for e in detail["timeline"] if e["kind"] in ("strategy", "action", "runbook")
    ]
    assert ("action", "token:manager-token") in kinds
    assert ("runbook", "token:responder-token") in kinds
    notifications = [e for e in detail["timeline"] if e["kind"] == "action" and e["data"].get("sms") == 3]
    assert len(notifications) == 1


async def test_a_logged_in_commander_declines_with_a_reason(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    await log_in(client, Role.MANAGER)
    url = strategies_url(incident)
    declined = await client.post(f"{url}/overflow-to-harbour/decline", json={"reason": "Harbour is closed"})
    assert declined.status_code == 200, declined.text
    assert declined.json()["state"] == "declined" and declined.json()["decided_by"] == "user:manager"
    refused = await client.post(f"{url}/overflow-to-harbour/approve")
    assert refused.status_code == 409 and "declined" in refused.json()["detail"]
    not_running = await client.post(f"{url}/outage-message/steps/0", json={"done": True})
    assert not_running.status_code == 404  # the outage message has no runbook
    early = await client.post(f"{url}/leeds-to-home/steps/0", json={"done": True})
    assert early.status_code == 409 and "once it runs" in early.json()["detail"]


async def test_unknown_incidents_strategies_and_steps_are_404s_that_name_them(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    manager = web.bearer(Role.MANAGER)
    missing = await client.get(strategies_url(999), headers=manager)
    assert missing.status_code == 404 and missing.json()["detail"] == "no incident 999"
    for action in ("approve", "decline", "complete"):
        response = await client.post(f"{strategies_url(999)}/leeds-to-home/{action}", headers=manager)
        assert response.status_code == 404 and "no incident 999" in response.json()["detail"]
        response = await client.post(f"{strategies_url(incident)}/no-such/{action}", headers=manager)
        assert response.status_code == 404 and "'no-such' has not been proposed" in response.json()["detail"]
    await client.post(f"{strategies_url(incident)}/leeds-to-home/approve", headers=manager)
    step = await client.post(
        f"{strategies_url(incident)}/leeds-to-home/steps/7", json={"done": True}, headers=manager
    )
    assert step.status_code == 404 and "no step 7" in step.json()["detail"]


async def test_bad_bodies_are_422s(web: Web, client: httpx.AsyncClient, incident: int) -> None:
    manager = web.bearer(Role.MANAGER)
    url = f"{strategies_url(incident)}/leeds-to-home/steps/0"
    for body in ({}, {"done": "maybe"}, {"done": True, "extra": 1}):
        response = await client.post(url, json=body, headers=manager)
        assert response.status_code == 422, body
    negative = await client.post(
        f"{strategies_url(incident)}/leeds-to-home/steps/-1", json={"done": True}, headers=manager
    )
    assert negative.status_code == 422


async def test_the_ivr_asks_for_its_message_with_a_receiver_token(
    web: Web, client: httpx.AsyncClient, incident: int, receiver_token: str
) -> None:
    quiet = await client.get(IVR, headers=bearer(receiver_token))
    assert quiet.status_code == 204 and quiet.content == b""
    approved = await client.post(
        f"{strategies_url(incident)}/outage-message/approve", headers=web.bearer(Role.MANAGER)
    )
    assert approved.status_code == 200, approved.text
    playing = await client.get(IVR, headers=bearer(receiver_token))
    assert playing.status_code == 200, playing.text
    assert playing.headers["cache-control"] == "no-store"
    assert playing.json() == {
        "message": "We are sorry: some of our systems are down. If you smell gas, stay on the line.",
        "deflect_share": 0.1,
        "incident_id": incident,
        "strategy_id": "outage-message",
        "since": "2026-06-15T09:30:00Z",
    }
    as_agent = await client.get(IVR, headers=web.bearer(Role.AGENT))
    assert as_agent.status_code == 200 and as_agent.json()["strategy_id"] == "outage-message"
    await client.post(f"{strategies_url(incident)}/outage-message/complete", headers=web.bearer(Role.MANAGER))
    assert (await client.get(IVR, headers=bearer(receiver_token))).status_code == 204


async def test_a_bad_or_revoked_receiver_token_is_refused(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    assert (await client.get(IVR, headers=bearer("sbr_nonsense"))).status_code == 401
    assert (await client.get(IVR, headers=bearer("not-a-token"))).status_code == 401
    with unit_of_work(web.factory) as session:
        revoke_receiver_token(session, name="cloudcx-ivr", now=T0)
    refused = await client.get(IVR, headers=bearer(receiver_token))
    assert refused.status_code == 401 and "receiver token" in refused.json()["detail"]
