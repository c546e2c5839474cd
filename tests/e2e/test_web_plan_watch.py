"""The running app loads the plan file again when it changes, and shows a broken one's problems."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from _web import T0, make_web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.clock import FakeClock
from standby.config import Settings
from standby.plan.loading import reference_plan_text
from standby.plan.watch import PlanFileWatch
from standby.web.app import create_app

pytestmark = pytest.mark.anyio


async def test_the_app_loads_a_saved_change_and_shows_a_broken_file(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path)  # users, tokens, and the reference plan as version 1
    path = tmp_path / "plan.yaml"
    path.write_text(reference_plan_text(), encoding="utf-8")
    watch = PlanFileWatch(path, session_factory, FakeClock(T0))
    watch.look()
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    app = create_app(
        settings,
        clock=FakeClock(T0),
        session_factory=session_factory,
        plan_watch=watch,
        plan_watch_every_s=0.05,
    )
    headers = web.bearer(Role.ADMIN)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        path.write_text(reference_plan_text().replace("seats: 140", "seats: 150"), encoding="utf-8")
        with anyio.fail_after(10):
            while True:
                plan = (await client.get("/api/v1/plan", headers=headers)).json()
                if plan["plan"]["sites"][0]["seats"] == 150:
                    break
                await anyio.sleep(0.05)
        path.write_text(reference_plan_text().replace("seats: 140", "seats: lots"), encoding="utf-8")
        with anyio.fail_after(10):
            while not watch.status.problems:
                await anyio.sleep(0.05)
        page = await client.get("/", headers=headers)
        assert page.status_code == 200
        assert "The plan file has 1 problem(s) and was not loaded" in page.text
        assert "seats: expected a whole number" in page.text
        plan = (await client.get("/api/v1/plan", headers=headers)).json()
        assert plan["plan"]["sites"][0]["seats"] == 150  # the last good version stays in force
