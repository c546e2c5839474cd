"""The live forecast over HTTP, on SQLite and PostgreSQL: 404 for an unknown incident, the shape once
the forecaster has made one, the commander's estimate weighed, and a timeline entry only when the
recommendation changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from _web import T0, Web, client, web
from sqlalchemy import select
from test_incident_room import incident, leeds_dark

from standby.access.roles import Role
from standby.detect.receiver_tokens import create_receiver_token
from standby.forecast.runner import one_pass, refresh
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "incident", "leeds_dark", "web"]  # fixtures, imported for pytest

REPLICATIONS = 4


def forecast_entries(web: Web, incident_id: int) -> list[dict[str, Any]]:
    with unit_of_work(web.factory) as session:
        return [e.data | {"actor": e.actor} for e in entries(session, incident_id, kind="forecast")]


async def test_an_unknown_incident_is_404(web: Web, client: httpx.AsyncClient) -> None:
    headers = web.bearer(Role.MANAGER)
    got = await client.get("/api/v1/incidents/999/forecast", headers=headers)
    assert got.status_code == 404 and "no incident 999" in got.text
    posted = await client.post("/api/v1/incidents/999/estimate", json={"minutes": 30}, headers=headers)
    assert posted.status_code == 404


async def test_the_forecast_has_every_option_and_length_and_a_recommendation(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    headers = web.bearer(Role.VIEWER)
    before = (await client.get(f"/api/v1/incidents/{incident}/forecast", headers=headers)).json()
    assert before["as_of"] is None and before["options"] == [] and before["recommended"] is None
    assert "first forecast is being made" in before["reason"]

    assert (
        one_pass(web.factory, web.clock, replications=REPLICATIONS) == 1
    )  # the forecaster's pass, as its process runs it
    assert one_pass(web.factory, web.clock, replications=REPLICATIONS) == 0  # nothing moved: not made again
    got = await client.get(f"/api/v1/incidents/{incident}/forecast", headers=headers)
    assert got.status_code == 200
    body = got.json()
    assert body["as_of"].startswith("2026-06-15T09:36:00")  # when the state was read (T0 + 6 min)
    ids = [o["id"] for o in body["options"]]
    assert ids[0] == "none" and "leeds-to-home" in ids and "leeds-to-home+outage-message" in ids
    for option in body["options"]:
        assert option["id"] == ("+".join(option["strategies"]) or "none")
        assert set(option["lasting"]) == {"30", "60", "120"}
        sixty = option["lasting"]["60"]
        assert sixty["ends"] == "11:36" and sixty["minutes"] == 60
        for figure in ("customers_affected", "vulnerable_affected", "callbacks_missed", "cost"):
            assert sixty[figure]["low"] <= sixty[figure]["mean"] <= sixty[figure]["high"]
        tolerances = {(t["queue"], t["kind"]) for t in sixty["tolerances"]}
        assert ("emergency", "max_unanswered_calls") in tolerances and (
            "moving",
            "max_outage_minutes",
        ) in tolerances
        assert all(t["breached"] == (t["breached_at"] is not None) for t in sixty["tolerances"])
    assert body["recommended"] in ids and body["reason"].endswith(".")
    none = next(o for o in body["options"] if o["id"] == "none")
    home = next(o for o in body["options"] if o["id"] == "leeds-to-home")
    # Home working brings agents back after 30 minutes: for an hour more, it answers more.
    assert (
        home["lasting"]["60"]["calls_unanswered"]["mean"] < none["lasting"]["60"]["calls_unanswered"]["mean"]
    )

    (entry,) = forecast_entries(web, incident)
    assert entry["actor"] == "standby" and entry["recommended"] == body["recommended"]
    assert entry["reason"] == body["reason"] and datetime.fromisoformat(
        entry["as_of"]
    ) == datetime.fromisoformat(body["as_of"])
    assert {o["id"] for o in entry["options"]} == set(ids)
    assert set(entry["options"][0]["lasting"]) == {"30", "60", "120"}


async def test_a_timeline_entry_only_when_the_recommendation_changes(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    first = refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS)
    assert first is not None
    web.clock.set(T0 + timedelta(minutes=8))
    again = refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS, force=True)
    assert again is not None and again["recommended"] == first["recommended"]
    assert len(forecast_entries(web, incident)) == 1  # the same advice: no new entry

    # The commander starts what was recommended: it is running, no longer an option, and the
    # advice changes (to carry on as things are, or to what is left to add).
    manager = web.bearer(Role.MANAGER)
    for strategy in first["recommended"].split("+"):
        done = await client.post(
            f"/api/v1/incidents/{incident}/strategies/{strategy}/approve", headers=manager
        )
        assert done.status_code == 200, done.text
    web.clock.set(T0 + timedelta(minutes=9))
    assert (
        one_pass(web.factory, web.clock, replications=REPLICATIONS) == 1
    )  # the state moved: made again at once
    after = (await client.get(f"/api/v1/incidents/{incident}/forecast", headers=manager)).json()
    assert set(first["recommended"].split("+")) <= set(after["running"])
    assert all(not set(o["strategies"]) & set(after["running"]) for o in after["options"])
    assert after["recommended"] != first["recommended"]
    assert [e["recommended"] for e in forecast_entries(web, incident)] == [
        first["recommended"],
        after["recommended"],
    ]

    # Five minutes on, nothing moved: made again (the day moves on), same advice, no entry.
    web.clock.set(T0 + timedelta(minutes=14))
    assert one_pass(web.factory, web.clock, replications=REPLICATIONS) == 1
    assert len(forecast_entries(web, incident)) == 2


async def test_the_commanders_estimate_is_weighed(web: Web, client: httpx.AsyncClient, incident: int) -> None:
    manager, viewer = web.bearer(Role.MANAGER), web.bearer(Role.VIEWER)
    url = f"/api/v1/incidents/{incident}/estimate"
    refused = await client.post(url, json={"minutes": 45}, headers=viewer)
    assert refused.status_code == 403
    for bad in ({"minutes": 0}, {"minutes": 100000}, {"minutes": "soon"}, {}):
        assert (await client.post(url, json=bad, headers=manager)).status_code == 422
    posted = await client.post(url, json={"minutes": 45}, headers=manager)
    assert posted.status_code == 200 and posted.json()["estimate_minutes"] == 45
    refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS)
    body = (await client.get(f"/api/v1/incidents/{incident}/forecast", headers=viewer)).json()
    assert body["estimate_minutes"] == 45
    assert all(set(o["lasting"]) == {"30", "45", "60", "120"} for o in body["options"])
    assert "if it lasts 45 more minutes" in body["reason"]

    with unit_of_work(web.factory) as session:
        row = session.scalars(select(IncidentRow).where(IncidentRow.id == incident)).one()
        row.state = "resolved"
    closed = await client.post(url, json={"minutes": 30}, headers=manager)
    assert closed.status_code == 409 and "resolved" in closed.text
    kept = refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS, force=True)
    assert kept is not None and kept["options"] == [] and "resolved" in kept["reason"]


async def test_what_else_is_down_weighs_on_the_options(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    web.set_state("vpn", "down")  # home working cannot start: its agents would need the VPN
    refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS)
    body = (
        await client.get(f"/api/v1/incidents/{incident}/forecast", headers=web.bearer(Role.VIEWER))
    ).json()
    assert body["down"] == ["leeds-power", "vpn"]
    options = {o["id"]: o for o in body["options"]}
    for n in ("30", "60", "120"):
        assert (
            options["leeds-to-home"]["lasting"][n]["calls_unanswered"]
            == options["none"]["lasting"][n]["calls_unanswered"]
        )


async def test_the_centres_live_figures_and_booked_callbacks_enter_the_forecast(
    web: Web, client: httpx.AsyncClient, incident: int
) -> None:
    manager = web.bearer(Role.MANAGER)
    with unit_of_work(web.factory) as session:
        _, token = create_receiver_token(session, name="acd-stats", now=T0)
    centre = {"Authorization": f"Bearer {token}"}
    now = web.clock.now()  # 10:36 in Leeds, six minutes into the outage
    # Posted before the outage began: not the state of the queues now.
    stale = {
        "metric": "queue.billing.calls_waiting",
        "value": 900,
        "at": (T0 - timedelta(minutes=2)).isoformat(),
    }
    assert (await client.post("/api/v1/metrics", json=stale, headers=centre)).status_code in (200, 202)
    assert refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS, force=True)
    plain = (await client.get(f"/api/v1/incidents/{incident}/forecast", headers=manager)).json()
    assert plain["centre_figures"] == {"calls_waiting": {}, "agents_available": {}}
    assert plain["callbacks_booked"] == 0

    samples = {
        "samples": [
            {"metric": "queue.billing.calls_waiting", "value": 150, "at": now.isoformat()},
            {"metric": "queue.billing.calls_waiting", "value": 240, "at": now.isoformat()},  # the latest wins
            {"metric": "queue.emergency.agents_available", "value": 0, "at": now.isoformat()},
            {"metric": "queue.nowhere.calls_waiting", "value": 5, "at": now.isoformat()},  # no such queue
        ]
    }
    assert (await client.post("/api/v1/metrics", json=samples, headers=centre)).status_code in (200, 202)
    booked = [
        {"customer": f"Customer {n}", "phone": f"+4477009002{n:02d}", "queue": "billing",
         "due_at": "2026-06-15T11:00:00+01:00", "vulnerable": n == 0}
        for n in range(3)
    ]  # fmt: skip
    tomorrow = {**booked[0], "phone": "+447700900299", "due_at": "2026-06-16T11:00:00+01:00"}
    taken = await client.post("/api/v1/callbacks", json=[*booked, tomorrow], headers=web.bearer(Role.ADMIN))
    assert taken.status_code == 200 and taken.json()["imported"] == 4, taken.text

    assert refresh(web.factory, web.clock, incident_id=incident, replications=REPLICATIONS, force=True)
    live = (await client.get(f"/api/v1/incidents/{incident}/forecast", headers=manager)).json()
    assert live["centre_figures"] == {"calls_waiting": {"billing": 240}, "agents_available": {"emergency": 0}}
    assert live["callbacks_booked"] == 3  # today's, not tomorrow's
    before, after = plain["options"][0]["lasting"]["60"], live["options"][0]["lasting"]["60"]
    # Callers on hold the replay did not have, and three callbacks due at 11:00 with Leeds dark.
    assert after["customers_affected"]["mean"] > before["customers_affected"]["mean"] + 50
    assert after["callbacks_missed"]["mean"] >= before["callbacks_missed"]["mean"] + 3 - 0.5
