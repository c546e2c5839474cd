"""/api/v1/audit over HTTP, on SQLite and PostgreSQL: bounded findings, whole radii on request."""

from __future__ import annotations

import httpx
import pytest
from _web import Web, client, web

from standby.access.roles import Role

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest


def chain_plan(n: int) -> str:
    """n components in one chain that the only site and queue need."""
    lines = ["organisation: {name: Chain centre}", "components:", "  - {id: c0, name: C0}"]
    lines += [f"  - {{id: c{i}, name: C{i}, depends_on: [c{i - 1}]}}" for i in range(1, n)]
    lines += [
        f"sites: [{{id: office, name: Office, seats: 10, depends_on: [c{n - 1}]}}]",
        f"queues: [{{id: sales, name: Sales, depends_on: [c{n - 1}], aht_s: 300,"
        " service_level: {answer_within_s: 20, target: 0.8}}]",
        "teams: [{id: desk, site: office, queues: [sales], agents: 5,"
        " shift: {start: '08:00', end: '20:00'}}]",
    ]
    return "\n".join(lines) + "\n"


async def test_findings_count_what_falls_and_the_radius_names_it_all(
    web: Web, client: httpx.AsyncClient
) -> None:
    admin = web.bearer(Role.ADMIN)
    loaded = await client.post(
        "/api/v1/plan", content=chain_plan(60), headers={**admin, "Content-Type": "text/yaml"}
    )
    assert loaded.status_code == 201, loaded.text
    audit = (await client.get("/api/v1/audit", headers=web.bearer(Role.VIEWER))).json()
    first = next(
        f for f in audit["findings"] if (f["code"], f["subject"]) == ("single-point-of-failure", "c0")
    )
    assert first["details"]["components"] == [f"c{i}" for i in range(1, 11)]
    assert first["details"]["components_count"] == 59
    assert first["details"]["complete"] is False
    whole = await client.get("/api/v1/audit/blast-radius/c0", headers=web.bearer(Role.VIEWER))
    assert whole.status_code == 200
    assert whole.json() == {
        "plan_version": loaded.json()["version"]["id"],
        "component": "c0",
        "components": [f"c{i}" for i in range(1, 60)],
        "sites": ["office"],
        "queues_unreachable": ["sales"],
        "queues_unanswered": [],
    }


async def test_the_blast_radius_of_the_reference_sbc(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/audit/blast-radius/sbc", headers=web.bearer(Role.RESPONDER))
    assert response.status_code == 200
    body = response.json()
    assert (body["components"], body["sites"]) == (["acd", "ivr"], [])
    assert body["queues_unreachable"] == ["emergency", "billing", "moving"]


async def test_an_unknown_component_is_404_and_an_agent_403(web: Web, client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/audit/blast-radius/teleporter", headers=web.bearer(Role.VIEWER))
    assert missing.status_code == 404
    assert "no component 'teleporter'" in missing.json()["detail"]
    agent = await client.get("/api/v1/audit/blast-radius/sbc", headers=web.bearer(Role.AGENT))
    assert agent.status_code == 403
    nobody = await client.get("/api/v1/audit/blast-radius/sbc")
    assert nobody.status_code == 401
