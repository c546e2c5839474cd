"""An exercise's findings become actions, once, on SQLite and PostgreSQL: through the API (a retried
finish, the report and `?source=`), owned by the person of the plan who planned it or left to assign.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from _web import Web, client, web

from standby.access.roles import Role
from standby.exercise.findings_service import DUE_AFTER, findings_to_actions, source_of
from standby.exercise.service import finish_exercise, plan_exercise, start_exercise
from standby.plan.versions import current_plan
from standby.review.action_service import list_actions
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]

URL = "/api/v1/exercises"
GOOD = {
    "title": "CRM lost",
    "scenario": {"down": ["crm"], "minutes": 30},
    "objectives": [{"kind": "acknowledged_within", "minutes": 5}, {"kind": "tolerances_kept"}],
}


async def test_each_finding_becomes_one_action_however_often_finish_is_asked(
    web: Web, client: httpx.AsyncClient
) -> None:
    manager = web.bearer(Role.MANAGER)
    exercise = (await client.post(URL, json=GOOD, headers=manager)).json()
    assert (await client.post(f"{URL}/{exercise['id']}/start", headers=manager)).status_code == 200
    web.clock.advance(timedelta(minutes=10))
    finished = await client.post(f"{URL}/{exercise['id']}/finish", headers=manager)
    assert finished.status_code == 200, finished.text
    results = finished.json()["results"]
    ids = results["action_ids"]
    assert len(ids) == 2 and [f["action_id"] for f in results["findings"]] == ids
    again = await client.post(f"{URL}/{exercise['id']}/finish", headers=manager)
    assert again.status_code == 409
    listed = await client.get(
        "/api/v1/actions", params={"source": f"exercise:{exercise['id']}"}, headers=manager
    )
    actions = sorted(listed.json()["actions"], key=lambda a: a["id"])
    assert [a["id"] for a in actions] == ids
    first = actions[0]
    assert first["incident_id"] is None and first["kind"] == "process" and first["links"] == ["component:crm"]
    assert first["title"].startswith(f"Exercise {exercise['id']} (CRM lost): On call acknowledged within 5")
    assert first["due_at"].startswith((web.clock.now() + DUE_AFTER).date().isoformat())
    # A token planned it: no person of the plan, so nobody owns it until a manager assigns it.
    assert first["owner"] == ""
    refused = await client.post(f"/api/v1/actions/{ids[0]}/assign", json={"owner": "nobody"}, headers=manager)
    assert refused.status_code == 400 and "no person 'nobody'" in refused.json()["detail"]
    viewer = await client.post(
        f"/api/v1/actions/{ids[0]}/assign", json={"owner": "amara"}, headers=web.bearer(Role.VIEWER)
    )
    assert viewer.status_code == 403
    assigned = await client.post(f"/api/v1/actions/{ids[0]}/assign", json={"owner": "amara"}, headers=manager)
    assert assigned.status_code == 200 and assigned.json()["owner"] == "amara"
    report = await client.get(f"{URL}/{exercise['id']}/report?format=md", headers=manager)
    assert f"(action {ids[0]})" in report.text and f"(action {ids[1]})" in report.text


def test_the_planner_who_is_a_person_owns_them_and_a_second_pass_adds_none(web: Web) -> None:
    with unit_of_work(web.factory) as session:
        found = current_plan(session)
        assert found is not None
        plan = found[1]
        planned = plan_exercise(
            session, plan=plan, title="Trunk lost", down=["trunk-a"], minutes=20,
            objectives=[{"kind": "tolerances_kept"}], by="user:amara", now=web.clock.now(),
        )  # fmt: skip
        start_exercise(session, exercise_id=planned.id, plan=plan, by="user:manager", now=web.clock.now())
    web.clock.advance(timedelta(minutes=5))
    with unit_of_work(web.factory) as session:
        done = finish_exercise(
            session, exercise_id=planned.id, plan=plan, by="user:manager", now=web.clock.now()
        )
    assert done.results is not None
    ids = done.results["action_ids"]
    assert len(ids) == 1
    with unit_of_work(web.factory) as session:
        repeated = findings_to_actions(
            session, exercise_id=planned.id, title="Trunk lost", findings=done.results["findings"] * 2,
            down=("trunk-a",), owner="dev", plan=plan, finished_at=web.clock.now(), by="user:manager",
        )  # fmt: skip
    assert repeated == ids
    with unit_of_work(web.factory) as session:
        mine = list_actions(session, now=web.clock.now(), source=source_of(planned.id))
    assert [(a.id, a.owner) for a in mine] == [(ids[0], "amara")]
