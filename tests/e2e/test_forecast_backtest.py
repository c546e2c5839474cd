"""The live forecast's back-test, on SQLite and PostgreSQL, on a plan no other test uses
(plans/harbourside.yaml): Dockside loses power at 09:30; Standby opens the incident and proposes
home working, which the commander approves at once through the API; at 09:40 the forecaster makes
its forecast; the power is back at 10:10. The forecast made at the tenth minute, for the option then
chosen (nothing more) and the length the outage really lasted (30 more minutes), must hold within its
95% intervals what `standby impact` (the command, in a process of its own) says of the whole outage
as it really happened.

The two are independent: the forecast draws its 20 replications from its own seed (1), `standby
impact` its replications from another (2), so nothing but the model ties them. The forecast's
intervals are 95% intervals of the expected figures; `standby impact` runs 100 replications so that
its own mean is about 2.2 times closer to the expected figure than the forecast's interval is wide
(with as few replications as the forecast, the two means would differ by chance alone often enough
to fall outside one interval about one time in six)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from _web import T0, Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.config import Settings
from standby.forecast.runner import refresh
from standby.plan.loading import load_plan_text
from standby.plan.versions import current_plan, record_plan
from standby.respond.responder import ResponseSettings, respond_once
from standby.store.engine import unit_of_work
from standby.store.tables import ComponentStateRow, IncidentRow, OutageRow

pytestmark = pytest.mark.anyio

PLAN = Path(__file__).parent / "plans" / "harbourside.yaml"


def harbourside(factory: sessionmaker[Session], tmp_path: Path) -> Web:
    """The app with the Harbourside plan in force."""
    web = make_web(factory, tmp_path, with_plan=False)
    text = PLAN.read_text(encoding="utf-8")
    with unit_of_work(factory) as session:
        record_plan(session, plan=load_plan_text(text), source=text, now=T0, loaded_by="test")
    return web


def dock_goes_dark(factory: sessionmaker[Session], tmp_path: Path, *, began: datetime, now: datetime) -> int:
    """Dockside lost its power at `began`: its state, the outage, and the response pass (at `now`) that
    opens the incident; the incident's id."""
    with unit_of_work(factory) as session:
        session.add(ComponentStateRow(component_id="dock-power", state="down", since=began, updated_at=began))
        session.add(
            OutageRow(
                started_at=began,
                detected_at=began,
                classification="partial",
                peak_classification="partial",
                causes=["dock-power"],
                components=["dock-power"],
                sites=["dock"],
                queues=[],
                degraded_queues=[],
                history={},
                summary="Dockside power down",
                updated_at=began,
            )
        )
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, public_url="https://standby.test")
    with unit_of_work(factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        respond_once(
            session,
            plan=plan,
            now=now,
            holder="w",
            settings=ResponseSettings(secret="s" * 40, base_url="https://standby.test", config=settings),
        )
        (incident_id,) = session.scalars(select(IncidentRow.id)).all()
    return incident_id


def standby_impact(*args: str) -> dict[str, object]:
    """`standby impact --json`, as a manager runs it."""
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "standby", "impact", str(PLAN), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    document: dict[str, object] = json.loads(result.stdout)
    return document


async def test_the_tenth_minute_forecast_holds_what_really_happened(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = harbourside(session_factory, tmp_path)
    incident = dock_goes_dark(web.factory, tmp_path, began=T0, now=T0)
    async with web.client() as client:
        manager = web.bearer(Role.MANAGER)
        approved = await client.post(
            f"/api/v1/incidents/{incident}/strategies/dock-to-home/approve", headers=manager
        )
        assert approved.status_code == 200, approved.text

        web.clock.set(T0 + timedelta(minutes=10))
        kept = refresh(web.factory, web.clock, incident_id=incident)
        assert kept is not None
        body = (await client.get(f"/api/v1/incidents/{incident}/forecast", headers=manager)).json()
    assert body["now"] == "09:40" and body["since"] == "09:30" and body["running"] == ["dock-to-home"]
    assert [o["id"] for o in body["options"]] == ["none"]  # all that applies is running: carry on
    forecast = body["options"][0]["lasting"]["30"]
    assert forecast["ends"] == "10:10"

    # The power comes back at 10:10: what happened, simulated whole by `standby impact`.
    truth = standby_impact(
        "--down", "dock-power", "--at", "09:30", "--minutes", "40", "--seed", "2", "--replications", "100"
    )
    assert truth["replications"] == 100 and truth["seed"] == 2 and body["seed"] == 1
    # Independent replications: the same figure, but not the same numbers.
    assert truth["customers_affected"]["mean"] != forecast["customers_affected"]["mean"]  # type: ignore[index]
    for figure in ("customers_affected", "vulnerable_affected", "callbacks_missed", "calls_unanswered"):
        actual = truth[figure]["mean"]  # type: ignore[index]
        assert forecast[figure]["low"] <= round(actual, 2) <= forecast[figure]["high"], figure
    cost = truth["cost"]["total"]["mean"]  # type: ignore[index]
    assert forecast["cost"]["low"] <= round(cost, 2) <= forecast["cost"]["high"]
    # Each tolerance: breached when it really was, within the breach time's 95% interval; else the
    # forecast was not sure it would be (its interval's end is open).
    breached = {(b["queue"], b["kind"]): b["minute"] for b in truth["breaches"]}  # type: ignore[attr-defined]
    for t in forecast["tolerances"]:
        low, high = t["breached_between_minutes"]["low"], t["breached_between_minutes"]["high"]
        minute = breached.get((t["queue"], t["kind"]))
        if minute is None:
            assert high is None, t
        else:
            assert low is not None and low <= minute <= (high if high is not None else minute), t
