"""The JSON API over HTTP, on SQLite and PostgreSQL: doors, plan loading, live components."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from _web import PASSWORD, T0, Web, client, log_in, make_web, web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.clock import FakeClock
from standby.config import Settings
from standby.plan.loading import reference_plan_text
from standby.store.engine import make_engine, make_session_factory
from standby.web.app import create_app

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

READ_ENDPOINTS = [
    "/api/v1/plan",
    "/api/v1/plan/versions",
    "/api/v1/components",
    "/api/v1/components/acd",
    "/api/v1/audit",
    "/api/v1/session",
]
BROKEN_PLAN = b"""\
organisation:
  name: Broken centre
components:
  - id: acd
    name: ACD
    kind: teleporter
    depends_on: [sbc]
"""


async def test_healthz_needs_no_login_and_shows_where_the_database_is_to_admins_only(
    web: Web, client: httpx.AsyncClient
) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    for role in (Role.MANAGER, Role.VIEWER):
        assert (await client.get("/healthz", headers=web.bearer(role))).json() == response.json()
    bad_token = await client.get("/healthz", headers={"Authorization": "Bearer sby_nothing"})
    assert bad_token.status_code == 200 and bad_token.json() == response.json()
    admin = await client.get("/healthz", headers=web.bearer(Role.ADMIN))
    assert admin.json()["status"] == "ok"
    assert admin.json()["database_url"].split(":")[0] in ("sqlite+pysqlite", "postgresql+psycopg")
    await log_in(client, Role.ADMIN)
    assert "database_url" in (await client.get("/healthz")).json()


async def test_healthz_says_503_when_the_database_is_unreachable_and_only_the_log_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:9/nothing?connect_timeout=2")
    try:
        app = create_app(
            Settings(database_url="sqlite://", data_dir=tmp_path),
            clock=FakeClock(T0),
            session_factory=make_session_factory(engine),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            with caplog.at_level(logging.WARNING, logger="standby"):
                response = await c.get("/healthz")
            page = await c.get("/api/v1/components", headers={"Authorization": "Bearer sby_x"})
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    # No host, port, database name or driver for whoever asks; the server's log has the reason.
    for secret in ("127.0.0.1", ":9", "nothing", "nobody", "psycopg", "postgres"):
        assert secret not in response.text
    assert any("127.0.0.1" in r.getMessage() and "unreachable" in r.getMessage() for r in caplog.records)
    # Any other request says so plainly too, never a traceback.
    assert page.status_code == 503
    assert "database" in page.json()["detail"]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
async def test_nobody_logged_in_gets_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "log in" in response.json()["detail"]


async def test_posting_a_plan_needs_a_login(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/plan", content=reference_plan_text(), headers={"Content-Type": "text/yaml"}
    )
    assert response.status_code == 401


async def test_an_agent_may_not_read_the_plan(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/plan", headers=web.bearer(Role.AGENT))
    assert response.status_code == 403
    assert "agent" in response.json()["detail"]
    # ...but may see the components' state.
    allowed = await client.get("/api/v1/components", headers=web.bearer(Role.AGENT))
    assert allowed.status_code == 200


async def test_a_viewer_may_not_load_a_plan(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/plan",
        content=reference_plan_text(),
        headers={**web.bearer(Role.VIEWER), "Content-Type": "text/yaml"},
    )
    assert response.status_code == 403
    assert "load_plan" in response.json()["detail"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.VIEWER])
async def test_roles_that_may_read_the_plan_get_it(web: Web, client: httpx.AsyncClient, role: Role) -> None:
    response = await client.get("/api/v1/plan", headers=web.bearer(role))
    assert response.status_code == 200
    body = response.json()
    assert body["plan"]["organisation"]["name"] == "Northwind Energy Customer Care"
    # By alias: the relocation's "from" is spelt as in YAML.
    assert body["plan"]["strategies"][0]["relocate"]["from"] == "leeds"
    assert body["version"]["id"] == 1
    assert len(body["version"]["sha256"]) == 64
    assert body["version"]["loaded_at"].startswith("2026-06-15T09:30")


async def test_login_with_the_right_password_sets_a_safe_cookie(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/session", json={"username": "manager", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # http: a Secure cookie would never come back
    who = await client.get("/api/v1/session")
    assert who.json()["name"] == "manager"
    assert "load_plan" in who.json()["permissions"]


async def test_login_with_a_wrong_password_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/session", json={"username": "manager", "password": "not the password"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}
    assert "set-cookie" not in response.headers
    unknown = await client.post("/api/v1/session", json={"username": "ghost", "password": "x" * 9})
    assert unknown.status_code == 401
    assert (await client.get("/api/v1/session")).status_code == 401


async def test_logout_closes_the_session(client: httpx.AsyncClient) -> None:
    await log_in(client, Role.VIEWER)
    assert (await client.get("/api/v1/components")).status_code == 200
    response = await client.delete("/api/v1/session")
    assert response.status_code == 204
    assert (await client.get("/api/v1/components")).status_code == 401


async def test_the_old_cookie_is_dead_after_logout(web: Web) -> None:
    async with web.client() as c:
        await log_in(c, Role.VIEWER)
        stolen = dict(c.cookies)
        await c.delete("/api/v1/session")
    async with web.client() as replay:
        replay.cookies.update(stolen)
        assert (await replay.get("/api/v1/components")).status_code == 401


async def test_bearer_tokens_open_the_api_and_bad_ones_do_not(web: Web, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/audit", headers=web.bearer(Role.RESPONDER))).status_code == 200
    for header in ("Bearer sby_not-a-real-token", "Bearer", "Basic YWRtaW46eA==", "Bearer " + "x" * 600):
        response = await client.get("/api/v1/audit", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_cookie_session_is_secure_behind_https(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, public_url="https://standby.example.org")
    async with web.client() as c:
        response = await c.post("/api/v1/session", json={"username": "admin", "password": PASSWORD})
    assert "secure" in response.headers["set-cookie"].lower()


async def test_an_invalid_plan_is_refused_with_lines_and_columns(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/plan",
        content=BROKEN_PLAN,
        headers={**web.bearer(Role.MANAGER), "Content-Type": "text/yaml"},
    )
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert {"line", "column", "message"} <= set(problems[0])
    kind = next(p for p in problems if "teleporter" in p["message"])
    assert (kind["line"], kind["column"]) == (6, 11)
    assert any(p["line"] == 7 and "sbc" in p["message"] for p in problems)
    # Nothing changed: the reference plan is still in force.
    versions = await client.get("/api/v1/plan/versions", headers=web.bearer(Role.MANAGER))
    assert [v["id"] for v in versions.json()["versions"]] == [1]


async def test_a_valid_plan_becomes_a_new_version_once(web: Web, client: httpx.AsyncClient) -> None:
    changed = reference_plan_text().replace(
        "name: Northwind Energy Customer Care", "name: Northwind Care (v2)"
    )
    headers = {**web.bearer(Role.ADMIN), "Content-Type": "application/x-yaml"}
    first = await client.post("/api/v1/plan", content=changed, headers=headers)
    assert first.status_code == 201
    assert first.json()["created"] is True
    assert first.json()["version"]["loaded_by"] == "token:admin-token"
    again = await client.post("/api/v1/plan", json={"yaml": changed}, headers=web.bearer(Role.MANAGER))
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["version"]["id"] == first.json()["version"]["id"]
    in_force = await client.get("/api/v1/plan", headers=web.bearer(Role.VIEWER))
    assert in_force.json()["plan"]["organisation"]["name"] == "Northwind Care (v2)"
    versions = await client.get("/api/v1/plan/versions", headers=web.bearer(Role.VIEWER))
    assert [v["id"] for v in versions.json()["versions"]] == [2, 1]


async def test_plan_bodies_must_be_yaml_or_json_with_yaml(web: Web, client: httpx.AsyncClient) -> None:
    auth = web.bearer(Role.ADMIN)
    form = await client.post("/api/v1/plan", data={"yaml": "x"}, headers=auth)
    assert form.status_code == 415
    not_json = await client.post(
        "/api/v1/plan", content=b"{nope", headers={**auth, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    wrong_shape = await client.post("/api/v1/plan", json={"plan": "x"}, headers=auth)
    assert wrong_shape.status_code == 422
    assert "yaml" in wrong_shape.json()["detail"]


async def test_components_show_unknown_until_a_state_is_recorded(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/components", headers=web.bearer(Role.AGENT))
    body = response.json()
    assert [c["id"] for c in body["components"]][:3] == ["trunk-a", "trunk-b", "sbc"]
    assert {c["state"] for c in body["components"]} == {"unknown"}
    assert all(c["available"] for c in body["components"])
    sbc = body["components"][2]
    assert sbc["kind"] == "sbc"
    assert sbc["depends_on"] == [{"any_of": ["trunk-a", "trunk-b"]}]
    assert sbc["probe"] == "tcp"
    assert sbc["since"] is None
    assert body["counts"]["unknown"] == 12

    web.set_state("trunk-a", "down")
    web.set_state("trunk-b", "down")
    web.set_state("crm", "up")
    after = (await client.get("/api/v1/components", headers=web.bearer(Role.AGENT))).json()
    by_id = {c["id"]: c for c in after["components"]}
    assert by_id["trunk-a"]["state"] == "down"
    assert by_id["trunk-a"]["since"].startswith("2026-06-15T09:30")
    assert by_id["crm"] == {**by_id["crm"], "state": "up", "available": True}
    # Both trunks down: the SBC and everything after it are effectively unavailable.
    assert by_id["sbc"]["state"] == "unknown"
    assert by_id["sbc"]["available"] is False
    assert by_id["ivr"]["available"] is False
    assert by_id["vpn"]["available"] is True
    assert after["counts"]["down"] == 2
    assert after["counts"]["unavailable"] == 5


async def test_one_component_and_a_clear_404(web: Web, client: httpx.AsyncClient) -> None:
    acd = await client.get("/api/v1/components/acd", headers=web.bearer(Role.VIEWER))
    assert acd.status_code == 200
    assert acd.json()["vendor"] == "cloudcx"
    assert {"kind": "component", "id": "ivr"} in acd.json()["dependents"]
    missing = await client.get("/api/v1/components/teleporter", headers=web.bearer(Role.VIEWER))
    assert missing.status_code == 404
    assert "no component 'teleporter'" in missing.json()["detail"]


async def test_the_audit_as_json(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/audit", headers=web.bearer(Role.VIEWER))
    body = response.json()
    assert body["today"] == "2026-06-15"  # 09:30 UTC is 10:30 in London, the same day
    assert body["counts"]["high"] >= 1
    codes = {f["code"] for f in body["findings"]}
    assert any("vendor" in code for code in codes)
    assert {"severity", "code", "subject", "section", "message", "details"} <= set(body["findings"][0])


async def test_without_a_plan_the_api_says_how_to_load_one(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, with_plan=False)
    async with web.client() as c:
        for path in ("/api/v1/plan", "/api/v1/components", "/api/v1/audit"):
            response = await c.get(path, headers=web.bearer(Role.ADMIN))
            assert response.status_code == 404
            assert "POST one to /api/v1/plan" in response.json()["detail"]


async def test_cookie_requests_from_another_site_are_refused(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.ADMIN)
    body = {"yaml": reference_plan_text()}
    forged = await client.post("/api/v1/plan", json=body, headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
    assert "another site" in forged.json()["detail"]
    referer = await client.post("/api/v1/plan", json=body, headers={"Referer": "http://evil.example/page"})
    assert referer.status_code == 403
    ours = await client.post("/api/v1/plan", json=body, headers={"Origin": "http://testserver"})
    assert ours.status_code == 200
    # A token is not sent by browsers on their own, so no origin check applies.
    scripted = await client.post(
        "/api/v1/plan", json=body, headers={**web.bearer(Role.ADMIN), "Origin": "http://evil.example"}
    )
    assert scripted.status_code == 200


async def test_an_unexpected_failure_is_a_json_500_not_a_traceback(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("standby.web.api.audit.audit", explode)
    async with web.client(raise_errors=False) as c:
        response = await c.get("/api/v1/audit", headers=web.bearer(Role.ADMIN))
    assert response.status_code == 500
    assert response.json() == {"detail": "something went wrong on our side; it has been logged"}


async def test_bad_requests_say_what_is_wrong(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/session", json={"username": "admin"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["location"] == "body.password"
    unknown = await client.get("/api/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not Found"}


async def test_openapi_documents_the_contract(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/v1/plan",
        "/api/v1/plan/versions",
        "/api/v1/components",
        "/api/v1/components/{component_id}",
        "/api/v1/audit",
        "/api/v1/session",
        "/healthz",
    ):
        assert path in paths, path
    assert "text/yaml" in paths["/api/v1/plan"]["post"]["requestBody"]["content"]
    assert "/login" not in paths
