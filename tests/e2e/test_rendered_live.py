"""The components list and the overview are built once per change, yet never show an old state,
and the doors behind them close at once on every server (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _web import BASE, T0, Web, log_in, web
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.access.service import revoke_token, set_user_disabled
from standby.clock import FakeClock
from standby.config import Settings
from standby.detect.refused_alerts import refuse
from standby.store.engine import unit_of_work
from standby.web.app import create_app

pytestmark = pytest.mark.anyio
__all__ = ["web"]  # the fixture, imported for pytest

DOWN_PILL = '<span class="pill tone-down">down</span>'


def second_server(web: Web, tmp_path: Path) -> httpx.AsyncClient:
    """Another Standby process on the same database: its own app, caches and clock."""
    config = Settings(database_url="sqlite://", data_dir=tmp_path)
    app = create_app(config, clock=FakeClock(T0), session_factory=web.factory)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


def states(listing: httpx.Response) -> dict[str, str]:
    """Component id to state, from GET /api/v1/components."""
    return {c["id"]: c["state"] for c in listing.json()["components"]}


async def test_the_list_shows_a_state_change_on_the_very_next_request(web: Web) -> None:
    async with web.client() as client:
        first = await client.get("/api/v1/components", headers=web.bearer(Role.VIEWER))
        assert first.status_code == 200
        assert states(first)["sbc"] == "unknown"
        etag = first.headers["etag"]
        again = await client.get(
            "/api/v1/components", headers={**web.bearer(Role.VIEWER), "If-None-Match": etag}
        )
        assert again.status_code == 304
        assert again.headers["etag"] == etag
        # Written at the same instant as nothing before it: no clock moves, only the row.
        web.set_state("sbc", "down")
        after = await client.get(
            "/api/v1/components", headers={**web.bearer(Role.VIEWER), "If-None-Match": etag}
        )
        assert after.status_code == 200
        assert states(after)["sbc"] == "down"
        assert after.json()["counts"]["down"] == 1
        assert after.headers["etag"] != etag
        web.set_state("sbc", "up")
        assert states(await client.get("/api/v1/components", headers=web.bearer(Role.VIEWER)))["sbc"] == "up"


async def test_the_overview_shows_a_state_change_on_the_very_next_request(web: Web) -> None:
    async with web.client() as client:
        await log_in(client, Role.ADMIN)
        before = await client.get("/")
        assert before.status_code == 200
        assert DOWN_PILL not in before.text
        web.set_state("sbc", "down")
        after = await client.get("/")
        assert after.status_code == 200
        assert DOWN_PILL in after.text
        assert "1 down" in after.text  # the components tile, built with the table
        web.set_state("sbc", "up")
        assert DOWN_PILL not in (await client.get("/")).text


async def test_each_role_gets_its_own_overview_from_the_same_states(web: Web) -> None:
    async with web.client() as admin, web.client() as agent:
        await log_in(admin, Role.ADMIN)
        await log_in(agent, Role.AGENT)  # may read components, not the plan's audit
        assert "does not include the plan audit" not in (await admin.get("/")).text
        seen = (await agent.get("/")).text
        assert "Your role (agent) does not include the plan audit." in seen
        assert "does not include the plan audit" not in (await admin.get("/")).text


async def test_a_token_revoked_elsewhere_stops_at_once_on_every_server(web: Web, tmp_path: Path) -> None:
    headers = web.bearer(Role.VIEWER)
    async with web.client() as one, second_server(web, tmp_path) as two:
        for server in (one, two):
            assert (await server.get("/api/v1/components", headers=headers)).status_code == 200
            assert (await server.get("/", headers=headers)).status_code == 200
        with unit_of_work(web.factory) as session:  # as `standby token revoke` does, from anywhere
            revoke_token(session, name="viewer-token", now=T0)
        for server in (one, two):
            refused = await server.get("/api/v1/components", headers=headers)
            assert refused.status_code == 401
            assert refused.json() == {"detail": "the API token is not valid (unknown or revoked)"}
            page = await server.get("/", headers=headers)
            assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2F")


async def test_a_session_ended_on_one_server_is_dead_on_the_other_at_once(web: Web, tmp_path: Path) -> None:
    async with web.client() as one, second_server(web, tmp_path) as two:
        await log_in(one, Role.MANAGER)
        two.cookies.update(dict(one.cookies))
        assert (await two.get("/api/v1/components")).status_code == 200
        assert (await two.get("/")).status_code == 200
        assert (await one.delete("/api/v1/session")).status_code == 204
        assert (await two.get("/api/v1/components")).status_code == 401
        assert (await two.get("/")).status_code != 200


async def test_a_disabled_user_is_out_at_once(web: Web, session_factory: sessionmaker[Session]) -> None:
    async with web.client() as client:
        await log_in(client, Role.RESPONDER)
        assert (await client.get("/api/v1/components")).status_code == 200
        with unit_of_work(session_factory) as session:
            set_user_disabled(session, username="responder", disabled=True)
        assert (await client.get("/api/v1/components")).status_code == 401


async def test_the_overview_shows_a_refused_alert_on_the_very_next_request(web: Web) -> None:
    """Not only states: every table the page reads moves the change mark (the clock stands still)."""
    async with web.client() as client:
        await log_in(client, Role.MANAGER)
        assert "refused in the last 24 h" not in (await client.get("/")).text
        with unit_of_work(web.factory) as session:
            refuse(
                session,
                source="alertmanager",
                receiver="default",
                dedup_key="unknown-thing",
                group_key=None,
                position=0,
                location="alerts[0]",
                label="unknown-thing",
                reason="no component of the plan matches",
                raw={"labels": {"component": "unknown-thing"}},
                now=T0,
            )
        assert "1 alert refused in the last 24 h" in (await client.get("/")).text


async def test_the_overview_follows_the_clock_to_the_second(web: Web) -> None:
    async with web.client() as client:
        await log_in(client, Role.MANAGER)
        first = (await client.get("/")).text
        assert (await client.get("/")).text == first  # the same second, the same page
        web.clock.advance(timedelta(seconds=1))
        assert (await client.get("/")).text != first  # it shows the time to the second


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_door_gets_over_a_restarted_database_server(web: Web) -> None:
    """Its connections are dropped under it (as a restart or a failover does): the next request
    is answered all the same, on a fresh connection, without a liveness ping before each read."""
    headers = web.bearer(Role.VIEWER)
    async with web.client() as client:
        assert (await client.get("/api/v1/components", headers=headers)).status_code == 200
        with unit_of_work(web.factory) as session:
            ended = session.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert ended >= 1
        answer = await client.get("/api/v1/components", headers=headers)
        assert answer.status_code == 200
        assert states(answer)["sbc"] == "unknown"


async def test_what_is_kept_is_sent_as_the_route_sends_it_and_counted_under_it(web: Web) -> None:
    """The second request is answered before routing (standby.web.hot_fast): same bytes,
    same headers, counted under its route."""
    headers = web.bearer(Role.VIEWER)
    async with web.client() as client:
        built = await client.get("/api/v1/components", headers=headers)
        kept = await client.get("/api/v1/components", headers=headers)
        await log_in(client, Role.MANAGER)
        page = await client.get("/")
        page_again = await client.get("/")
    assert kept.content == built.content
    for name in ("etag", "cache-control", "content-type", "content-security-policy", "x-frame-options"):
        assert kept.headers[name] == built.headers[name]
    assert page_again.content == page.content
    for name in ("content-type", "content-security-policy", "referrer-policy"):
        assert page_again.headers[name] == page.headers[name]
    registry = web.app.state.metrics.registry
    for route, count in (("/api/v1/components", 2), ("/", 2)):
        labels = {"method": "GET", "route": route, "status": "200"}
        assert registry.get_sample_value("standby_http_requests_total", labels) == count
