"""/api/v1/impact over HTTP, on SQLite and PostgreSQL: who may ask, bad scenarios, the result and report."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import httpx
import pytest
from _web import Web, client, log_in, make_web, web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.impact.results import ImpactResult

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

SCENARIO = {"down": ["acd"], "at": "10:00", "minutes": 60, "replications": 2}
REPORT = "/api/v1/impact/report?down=acd&at=10:00&minutes=60&replications=2"


async def test_nobody_gets_401_and_an_agent_403(web: Web, client: httpx.AsyncClient) -> None:
    anonymous = await client.post("/api/v1/impact", json=SCENARIO)
    assert anonymous.status_code == 401
    agent = await client.post("/api/v1/impact", json=SCENARIO, headers=web.bearer(Role.AGENT))
    assert agent.status_code == 403
    assert "read_plan" in agent.json()["detail"]
    report = await client.get(REPORT, headers=web.bearer(Role.AGENT))
    assert report.status_code == 403


async def test_the_result_is_what_the_cli_prints_with_the_plan_version(
    web: Web, client: httpx.AsyncClient
) -> None:
    body = {**SCENARIO, "seed": 3, "callbacks": [{"due_at": "10:30", "queue": "billing", "vulnerable": True}]}
    response = await client.post("/api/v1/impact", json=body, headers=web.bearer(Role.VIEWER))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["plan_version"] == 1
    assert set(document) == {"plan_version"} | {f.name for f in dataclasses.fields(ImpactResult)}
    assert document["scenario"] == {"down": ["acd"], "at": 600, "minutes": 60}
    assert document["replications"] == 2 and document["seed"] == 3
    assert any(b["queue"] == "emergency" and b["kind"] == "max_outage_minutes" for b in document["breaches"])
    assert document["outage"]["callbacks_due"]["mean"] >= 1
    again = await client.post("/api/v1/impact", json=body, headers=web.bearer(Role.VIEWER))
    assert again.json() == document  # the same seed, the same figures


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"down": ["teleporter"]}, "down: the plan has no component 'teleporter'"),
        ({"at": "25:00"}, "at: '25:00' is not a time of day"),
        ({"at": "23:00"}, "at: the outage starts at 23:00, outside the forecast day (08:00 to 20:00)"),
        ({"minutes": 0}, "minutes"),
        ({"replications": 201}, "replications"),
        ({"down": []}, "down"),
        ({"callbacks": [{"due_at": "soon", "queue": "billing"}]}, "callbacks[0].due_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_scenario_is_422_saying_what(
    web: Web, client: httpx.AsyncClient, change: dict[str, object], where: str
) -> None:
    response = await client.post(
        "/api/v1/impact", json={**SCENARIO, **change}, headers=web.bearer(Role.MANAGER)
    )
    assert response.status_code == 422, response.text
    assert where in str(response.json()["detail"])


async def test_the_report_is_one_html_page_for_a_logged_in_browser(client: httpx.AsyncClient) -> None:
    await log_in(client, Role.MANAGER)
    response = await client.get(REPORT.replace("down=acd", "down=acd,crm"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'filename="impact-acd-crm-1000-60min.html"' in response.headers["content-disposition"]
    html = response.text
    assert "without CloudCX routing (ACD) and Customer records (CRM) from 10:00" in html
    assert "plan version 1" in html
    assert "<svg" in html and "<script" not in html
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html)
    # Its styles are inline (it is forwarded and opened offline): its policy allows them, and no script.
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "style-src 'unsafe-inline'" in policy
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy


async def test_a_bad_report_request_is_422(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/impact/report?down=teleporter&at=10:00&minutes=60&replications=2",
        headers=web.bearer(Role.VIEWER),
    )
    assert response.status_code == 422
    assert "teleporter" in response.json()["detail"]


async def test_without_a_plan_it_is_404(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    bare = make_web(session_factory, tmp_path, with_plan=False)
    async with bare.client() as c:
        response = await c.post("/api/v1/impact", json=SCENARIO, headers=bare.bearer(Role.ADMIN))
    assert response.status_code == 404
    assert "no plan" in response.json()["detail"]


async def test_a_full_house_answers_503_with_retry_after(web: Web, client: httpx.AsyncClient) -> None:
    from standby.web.api import impact

    taken = [impact._RUNS.acquire(blocking=False) for _ in range(impact.MAX_RUNS_AT_ONCE)]
    try:
        assert all(taken)
        response = await client.post("/api/v1/impact", json=SCENARIO, headers=web.bearer(Role.VIEWER))
    finally:
        for held in taken:
            if held:
                impact._RUNS.release()
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert "try again" in response.json()["detail"]


async def test_an_outage_no_strategy_covers_is_422_unless_asked(web: Web, client: httpx.AsyncClient) -> None:
    from standby.plan.loading import reference_plan_text

    text = reference_plan_text()
    bare = (
        text[: text.index("# What the centre does to keep answering.")]
        + text[text.index("# How long each queue") :]
    )
    loaded = await client.post(
        "/api/v1/plan", content=bare, headers={**web.bearer(Role.MANAGER), "Content-Type": "text/yaml"}
    )
    assert loaded.status_code == 201, loaded.text
    scenario = {"down": ["acd"], "at": "10:00", "minutes": 60, "replications": 2}
    refused = await client.post("/api/v1/impact", json=scenario, headers=web.bearer(Role.VIEWER))
    assert refused.status_code == 422
    assert "no strategy in the plan covers losing CloudCX routing (ACD)" in refused.json()["detail"]
    allowed = await client.post(
        "/api/v1/impact", json={**scenario, "uncovered": True}, headers=web.bearer(Role.VIEWER)
    )
    assert allowed.status_code == 200, allowed.text
