"""Agents' home readiness over HTTP, on SQLite and PostgreSQL: the check through its link, the
API per team and agent, capacity from ready agents, and the mass-login exercise."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from _web import T0, Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.readiness.links import make_readiness_token
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow

pytestmark = pytest.mark.anyio

SECRET = "readiness-test-secret"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
AGENTS = (
    "external_id,name,team,phone,email\n"
    "e1,Ada Lovelace,emergency-desk,+447700900101,\n"
    "e2,Bo Diddley,emergency-desk,+447700900102,\n"
    "b1,Cy Young,billing-team,,cy@northwind.example\n"
    "s1,Di Prince,sales-team,,\n"
)


def good(**changed: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "round_trips_ms": [40, 42, 41, 45, 43, 40],
        "download": {"bytes": 1_000_000, "ms": 800},
        "upload": {"bytes": 500_000, "ms": 900},
        "microphone": "granted",
        "platform": [],
    }
    return {**body, **changed}


@pytest.fixture
def web(session_factory: sessionmaker[Session], tmp_path: Path) -> Web:
    return make_web(session_factory, tmp_path, secret_key=SECRET)


@pytest.fixture
async def client(web: Web) -> Any:
    async with web.client() as c:
        response = await c.post(
            "/api/v1/agents", content=AGENTS, headers={**web.bearer(Role.MANAGER), "Content-Type": "text/csv"}
        )
        assert response.status_code == 200, response.text
        yield c


def link_token(agent: str, campaign: int = 0) -> str:
    return make_readiness_token(SECRET, agent=agent, campaign_id=campaign, expires_at=T0 + timedelta(days=7))


async def check(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/readiness/results", json=body, headers={"X-Readiness-Token": token, "User-Agent": CHROME}
    )


async def test_only_managers_and_admins_read_readiness(web: Web, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/readiness")).status_code == 401
    for role in (Role.AGENT, Role.VIEWER, Role.RESPONDER):
        assert (await client.get("/api/v1/readiness", headers=web.bearer(role))).status_code == 403
        refused = await client.post("/api/v1/readiness/campaigns", json={}, headers=web.bearer(role))
        assert refused.status_code == 403


async def test_a_check_through_the_link_is_stored_per_agent_and_team(
    web: Web, client: httpx.AsyncClient
) -> None:
    before = (await client.get("/api/v1/readiness", headers=web.bearer(Role.MANAGER))).json()
    emergency = next(t for t in before["teams"] if t["team"] == "emergency-desk")
    assert emergency["has_results"] is False and emergency["available_from_home"] == 9  # 12 x 0.8
    page = await client.get(f"/readiness/link/{link_token('e1')}")
    assert page.status_code == 200 and "Ada Lovelace" in page.text
    assert (
        page.headers["cache-control"] == "no-store"
        and "default-src 'self'" in page.headers["content-security-policy"]
    )
    passed = await check(client, link_token("e1"), good())
    assert passed.status_code == 200, passed.text
    assert passed.json()["passed"] is True
    assert {c["measure"] for c in passed.json()["checks"]} == {
        "latency",
        "jitter",
        "download",
        "upload",
        "browser",
        "microphone",
    }
    web.clock.advance(timedelta(minutes=5))
    slow = await check(client, link_token("e2"), good(round_trips_ms=[650, 660, 655, 650, 660]))
    failed = {c["measure"]: c for c in slow.json()["checks"] if not c["passed"]}
    assert slow.json()["passed"] is False and set(failed) == {"latency"}
    assert failed["latency"]["value"] == "655 ms" and "cable" in failed["latency"]["advice"]

    after = (await client.get("/api/v1/readiness", headers=web.bearer(Role.MANAGER))).json()
    assert after["valid_days"] == 90
    teams = {t["team"]: t for t in after["teams"]}
    assert teams["emergency-desk"] | {"last_checked_at": None} == {
        "team": "emergency-desk",
        "agents": 12,
        "directory_agents": 2,
        "checked": 2,
        "ready": 1,
        "last_checked_at": None,
        "has_results": True,
        "home_capable_agents": 9,
        "available_from_home": 1,
    }
    assert teams["emergency-desk"]["last_checked_at"] == "2026-06-15T09:35:00Z"
    assert teams["billing-team"]["available_from_home"] == 30 and not teams["billing-team"]["has_results"]
    agents = {a["external_id"]: a for a in after["agents"]}
    assert agents["e1"]["ready"] is True and agents["e2"]["ready"] is False and agents["b1"]["latest"] is None
    assert agents["e2"]["latest"]["latency_ms"] == 655.0 and agents["e2"]["latest"]["browser"] == "chrome 131"

    one = await client.get("/api/v1/readiness/agents/e2", headers=web.bearer(Role.MANAGER))
    assert one.status_code == 200 and len(one.json()["checks"]) == 1
    assert (
        await client.get("/api/v1/readiness/agents/zz", headers=web.bearer(Role.MANAGER))
    ).status_code == 404
    paged = (await client.get("/api/v1/readiness?limit=2", headers=web.bearer(Role.MANAGER))).json()
    assert len(paged["agents"]) == 2 and paged["next_after"] == paged["agents"][-1]["external_id"]
    rest = await client.get(
        f"/api/v1/readiness?limit=2&after={paged['next_after']}", headers=web.bearer(Role.MANAGER)
    )
    assert [a["external_id"] for a in rest.json()["agents"]] == ["e2", "s1"] and rest.json()[
        "next_after"
    ] is None

    # A check older than valid_days no longer counts: the team is back to its share.
    web.clock.advance(timedelta(days=91))
    later = (await client.get("/api/v1/readiness", headers=web.bearer(Role.MANAGER))).json()
    assert next(t for t in later["teams"] if t["team"] == "emergency-desk")["available_from_home"] == 9


async def test_impact_counts_the_ready_agents_not_the_share(web: Web, client: httpx.AsyncClient) -> None:
    scenario = {"down": ["leeds-power"], "at": "10:00", "minutes": 60, "replications": 1}
    before = (await client.post("/api/v1/impact", json=scenario, headers=web.bearer(Role.MANAGER))).json()
    assert "home_ready" not in before["scenario"]
    assert any("48 agents working from home" in h["text"] for h in before["happenings"])  # 9 + 30 + 9
    assert (await check(client, link_token("e1"), good())).json()["passed"]
    assert not (await check(client, link_token("e2"), good(microphone="denied"))).json()["passed"]
    after = await client.post("/api/v1/impact", json=scenario, headers=web.bearer(Role.MANAGER))
    assert after.status_code == 200, after.text
    assert after.json()["scenario"]["home_ready"] == {"emergency-desk": 1}
    assert any("40 agents working from home" in h["text"] for h in after.json()["happenings"])  # 1 + 30 + 9


async def test_the_live_forecast_counts_the_ready_agents_too(
    web: Web, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    from test_incident_room import leeds_dark

    from standby.forecast.service import gather
    from standby.plan.versions import current_plan

    incident_id = leeds_dark(web, tmp_path)

    def home_ready() -> tuple[tuple[str, int], ...]:
        with unit_of_work(web.factory) as session:
            found = current_plan(session)
            assert found is not None
            info, plan = found
            state = gather(
                session, incident_id=incident_id, plan=plan, plan_sha256=info.sha256, now=web.clock.now()
            ).state
        assert state is not None
        return state.home_ready

    assert home_ready() == ()  # no checks yet: the plan's home_capable shares
    assert (await check(client, link_token("e1"), good())).json()["passed"]
    assert home_ready() == (("emergency-desk", 1),)  # the team that took the check: its ready agents


async def test_bad_checks_are_refused_with_the_reason(web: Web, client: httpx.AsyncClient) -> None:
    forged = link_token("e1")[:-3] + "AAA"
    page = await client.get(f"/readiness/link/{forged}")
    assert page.status_code == 400 and "not valid" in page.text
    assert (await check(client, forged, good())).status_code == 400
    refused = await check(client, link_token("e1"), good(microphone="loud"))
    assert refused.status_code == 422 and "microphone" in refused.json()["detail"]
    gone = await check(client, link_token("nobody"), good())
    assert gone.status_code == 404 and "nobody" in gone.json()["detail"]
    anonymous = await client.get("/readiness/payload?bytes=1000")
    assert anonymous.status_code == 400
    big = await client.get(
        "/readiness/payload?bytes=3000000", headers={"X-Readiness-Token": link_token("e1")}
    )
    assert big.status_code == 422
    sized = await client.get("/readiness/payload?bytes=1234", headers={"X-Readiness-Token": link_token("e1")})
    assert (
        sized.status_code == 200
        and len(sized.content) == 1234
        and sized.headers["cache-control"] == "no-store"
    )
    ping = await client.get("/readiness/ping")
    assert ping.status_code == 204 and ping.headers["cache-control"] == "no-store"
    taken = await client.post(
        "/readiness/upload", content=b"x" * 5000, headers={"X-Readiness-Token": link_token("e1")}
    )
    assert taken.json() == {"received": 5000}


async def test_a_signed_in_agent_checks_as_themselves(web: Web, client: httpx.AsyncClient) -> None:
    assert (await client.get("/readiness")).status_code == 303
    await client.post("/api/v1/session", json={"username": "agent", "password": "correct horse battery"})
    page = await client.get("/readiness")
    assert page.status_code == 200 and "is not an agent in the agents directory" in page.text


def readiness_messages(web: Web) -> list[MessageRow]:
    with unit_of_work(web.factory) as session:
        rows = session.scalars(select(MessageRow).where(MessageRow.purpose == "readiness")).all()
        session.expunge_all()
    return list(rows)


async def test_the_mass_login_exercise_texts_each_agent_once_and_times_n_passing(
    web: Web, client: httpx.AsyncClient
) -> None:
    manager = web.bearer(Role.MANAGER)
    started = await client.post("/api/v1/readiness/campaigns", json={"target": 2}, headers=manager)
    assert started.status_code == 201, started.text
    campaign = started.json()
    assert started.headers["location"] == f"/api/v1/readiness/campaigns/{campaign['id']}"
    # e1, e2 by SMS, b1 by email; s1 has neither and is not counted.
    assert (campaign["agents"], campaign["messages"], campaign["target"]) == (3, 3, 2)
    assert (
        campaign["activation_minutes"] == 30
        and campaign["passed"] == 0
        and campaign["within_activation"] is None
    )
    sent = readiness_messages(web)
    assert sorted((m.channel, m.recipient) for m in sent) == [
        ("email", "cy@northwind.example"),
        ("sms", "+447700900101"),
        ("sms", "+447700900102"),
    ]
    assert len({m.idempotency_key for m in sent}) == 3
    links = {m.recipient: re.search(r"/readiness/link/(\S+)", m.body).group(1) for m in sent}  # type: ignore[union-attr]

    web.clock.advance(timedelta(minutes=4))
    assert (await check(client, links["+447700900101"], good())).json()["passed"]
    assert (await check(client, links["+447700900101"], good())).json()["passed"]  # again: still one agent
    halfway = (await client.get(f"/api/v1/readiness/campaigns/{campaign['id']}", headers=manager)).json()
    assert halfway["passed"] == 1 and halfway["minutes_to_target"] is None
    web.clock.advance(timedelta(minutes=8))
    assert (await check(client, links["+447700900102"], good())).json()["passed"]
    done = (await client.get(f"/api/v1/readiness/campaigns/{campaign['id']}", headers=manager)).json()
    assert done["passed"] == 2 and done["passed_minutes"] == [4.0, 12.0]
    assert done["minutes_to_target"] == 12.0 and done["within_activation"] is True

    again = await client.post("/api/v1/readiness/campaigns", json={}, headers=manager)
    assert again.json()["target"] == 3  # the teams' share (75) capped by who can be messaged
    assert len(readiness_messages(web)) == 6  # a new exercise texts everyone once more, no more
    listed = (await client.get("/api/v1/readiness/campaigns", headers=manager)).json()["campaigns"]
    assert [c["id"] for c in listed] == [again.json()["id"], campaign["id"]]
    too_many = await client.post("/api/v1/readiness/campaigns", json={"target": 4}, headers=manager)
    assert too_many.status_code == 400 and "target" in too_many.json()["detail"]
    missing = await client.get("/api/v1/readiness/campaigns/999", headers=manager)
    assert missing.status_code == 404
