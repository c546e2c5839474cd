"""/api/v1/users and /api/v1/tokens: administrators only, secrets never shown twice."""

from __future__ import annotations

import httpx
import pytest
from _web import Web, client, web

from standby.access.roles import Role

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest


@pytest.mark.parametrize("role", [Role.MANAGER, Role.RESPONDER, Role.AGENT, Role.VIEWER])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", {"username": "x", "password": "long enough", "role": "viewer"}),
        ("GET", "/api/v1/tokens", None),
        ("POST", "/api/v1/tokens", {"name": "x", "role": "viewer"}),
        ("DELETE", "/api/v1/tokens/admin", None),
    ],
)
async def test_only_admins_manage_access(
    web: Web, client: httpx.AsyncClient, role: Role, method: str, path: str, body: dict[str, str] | None
) -> None:
    response = await client.request(method, path, json=body, headers=web.bearer(role))
    assert response.status_code == 403
    assert "manage_access" in response.json()["detail"]
    anonymous = await client.request(method, path, json=body)
    assert anonymous.status_code == 401


async def test_an_admin_creates_a_token_that_works_once_shown_and_dies_when_revoked(
    web: Web, client: httpx.AsyncClient
) -> None:
    admin = web.bearer(Role.ADMIN)
    created = await client.post("/api/v1/tokens", json={"name": "grafana", "role": "viewer"}, headers=admin)
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("sby_")
    listed = await client.get("/api/v1/tokens", headers=admin)
    entry = next(t for t in listed.json() if t["name"] == "grafana")
    assert entry["role"] == "viewer" and entry["revoked_at"] is None
    assert token not in listed.text
    plan = await client.get("/api/v1/plan", headers={"Authorization": f"Bearer {token}"})
    assert plan.status_code == 200
    duplicate = await client.post("/api/v1/tokens", json={"name": "grafana", "role": "viewer"}, headers=admin)
    assert duplicate.status_code == 409
    revoked = await client.delete("/api/v1/tokens/grafana", headers=admin)
    assert revoked.status_code == 204
    refused = await client.get("/api/v1/plan", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    missing = await client.delete("/api/v1/tokens/nope", headers=admin)
    assert missing.status_code == 404


async def test_an_admin_creates_changes_and_disables_a_user(web: Web, client: httpx.AsyncClient) -> None:
    admin = web.bearer(Role.ADMIN)
    created = await client.post(
        "/api/v1/users",
        json={"username": "Jo", "password": "a long password", "role": "manager"},
        headers=admin,
    )
    assert created.status_code == 201
    assert created.json() == {**created.json(), "username": "jo", "role": "manager", "disabled": False}
    login = await client.post("/api/v1/session", json={"username": "jo", "password": "a long password"})
    assert login.status_code == 200
    short = await client.post(
        "/api/v1/users", json={"username": "kim", "password": "short", "role": "viewer"}, headers=admin
    )
    assert short.status_code == 400
    assert "too short" in short.json()["detail"]
    bad_role = await client.post(
        "/api/v1/users", json={"username": "kim", "password": "long enough", "role": "boss"}, headers=admin
    )
    assert bad_role.status_code == 422
    disabled = await client.patch("/api/v1/users/jo", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    refused = await client.post("/api/v1/session", json={"username": "jo", "password": "a long password"})
    assert refused.status_code == 401
    users = await client.get("/api/v1/users", headers=admin)
    assert "password" not in users.text
    unknown = await client.patch("/api/v1/users/nobody", json={"disabled": True}, headers=admin)
    assert unknown.status_code == 404
