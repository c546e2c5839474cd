"""The receivers over HTTP, on SQLite and PostgreSQL: real Alertmanager and Events v2 bodies,
heartbeats, metrics, their doors, and every kind of bad input answered with a 4xx.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from _web import T0, Web, client, log_in, make_web, web
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.detect.alert_routing import labels_fingerprint
from standby.detect.receiver_tokens import create_receiver_token, revoke_receiver_token
from standby.store.engine import unit_of_work
from standby.store.tables import AlertRow, HeartbeatRow, MetricSampleRow, RefusedAlertRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

ALERTMANAGER = "/api/v1/integrations/alertmanager"
EVENTS = "/api/v1/events"
METRICS = "/api/v1/metrics"
HEARTBEAT = "/api/v1/heartbeats/ivr"

# What Alertmanager 0.27 posts (its Go encoder escapes '&' as \u0026): ACDDown firing on
# both routing nodes, grouped by alertname.
FIRING_GROUP = rb"""{"receiver":"standby","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"ACDDown","instance":"cloudcx-acd-1.northwind.internal:9115","job":"cloudcx-acd","severity":"critical"},"annotations":{"description":"The blackbox probe of cloudcx-acd-1.northwind.internal:9115 has failed for 2 minutes.","runbook_url":"https://wiki.northwind.example/runbooks/acd-down","summary":"CloudCX ACD is not answering health checks"},"startsAt":"2026-06-15T09:27:41.123456789Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.northwind.internal:9090/graph?g0.expr=probe_success%7Bjob%3D%22cloudcx-acd%22%7D+%3D%3D+0\u0026g0.tab=1","fingerprint":"e82796058477e51a"},{"status":"firing","labels":{"alertname":"ACDDown","instance":"cloudcx-acd-2.northwind.internal:9115","job":"cloudcx-acd","severity":"critical"},"annotations":{"description":"The blackbox probe of cloudcx-acd-2.northwind.internal:9115 has failed for 2 minutes.","runbook_url":"https://wiki.northwind.example/runbooks/acd-down","summary":"CloudCX ACD is not answering health checks"},"startsAt":"2026-06-15T09:27:56.48201947Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.northwind.internal:9090/graph?g0.expr=probe_success%7Bjob%3D%22cloudcx-acd%22%7D+%3D%3D+0\u0026g0.tab=1","fingerprint":"fc5c048a8aded205"}],"groupLabels":{"alertname":"ACDDown"},"commonLabels":{"alertname":"ACDDown","job":"cloudcx-acd","severity":"critical"},"commonAnnotations":{"runbook_url":"https://wiki.northwind.example/runbooks/acd-down","summary":"CloudCX ACD is not answering health checks"},"externalURL":"http://alertmanager.northwind.internal:9093","version":"4","groupKey":"{}:{alertname=\"ACDDown\"}","truncatedAlerts":0}
"""  # noqa: E501 (verbatim, as Alertmanager sends it)

# The same group a quarter of an hour later, with send_resolved: true.
RESOLVED_GROUP = b"""{
  "receiver": "standby",
  "status": "resolved",
  "alerts": [
    {
      "status": "resolved",
      "labels": {
        "alertname": "ACDDown",
        "instance": "cloudcx-acd-1.northwind.internal:9115",
        "job": "cloudcx-acd",
        "severity": "critical"
      },
      "annotations": {
        "description": "The blackbox probe of cloudcx-acd-1.northwind.internal:9115 has failed for 2 minutes.",
        "runbook_url": "https://wiki.northwind.example/runbooks/acd-down",
        "summary": "CloudCX ACD is not answering health checks"
      },
      "startsAt": "2026-06-15T09:27:41.123456789Z",
      "endsAt": "2026-06-15T09:42:11.123456789Z",
      "generatorURL": "http://prometheus.northwind.internal:9090/graph?g0.expr=probe_success%7Bjob%3D%22cloudcx-acd%22%7D+%3D%3D+0\\u0026g0.tab=1",
      "fingerprint": "e82796058477e51a"
    },
    {
      "status": "resolved",
      "labels": {
        "alertname": "ACDDown",
        "instance": "cloudcx-acd-2.northwind.internal:9115",
        "job": "cloudcx-acd",
        "severity": "critical"
      },
      "annotations": {
        "description": "The blackbox probe of cloudcx-acd-2.northwind.internal:9115 has failed for 2 minutes.",
        "runbook_url": "https://wiki.northwind.example/runbooks/acd-down",
        "summary": "CloudCX ACD is not answering health checks"
      },
      "startsAt": "2026-06-15T09:27:56.48201947Z",
      "endsAt": "2026-06-15T09:42:11.123456789Z",
      "generatorURL": "http://prometheus.northwind.internal:9090/graph?g0.expr=probe_success%7Bjob%3D%22cloudcx-acd%22%7D+%3D%3D+0\\u0026g0.tab=1",
      "fingerprint": "fc5c048a8aded205"
    }
  ],
  "groupLabels": {"alertname": "ACDDown"},
  "commonLabels": {"alertname": "ACDDown", "job": "cloudcx-acd", "severity": "critical"},
  "commonAnnotations": {
    "runbook_url": "https://wiki.northwind.example/runbooks/acd-down",
    "summary": "CloudCX ACD is not answering health checks"
  },
  "externalURL": "http://alertmanager.northwind.internal:9093",
  "version": "4",
  "groupKey": "{}:{alertname=\\"ACDDown\\"}",
  "truncatedAlerts": 0
}
"""  # noqa: E501 (verbatim)

# A group from a route that groups by job, with max_alerts: 1 cutting one alert off;
# the job label names the CRM component directly.
CRM_GROUP = b"""{
  "receiver": "standby",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {
        "alertname": "CRMSlowResponses",
        "instance": "crm.northwind.internal:443",
        "job": "crm",
        "severity": "warning"
      },
      "annotations": {"summary": "CRM p95 latency above 2s for 10 minutes"},
      "startsAt": "2026-06-15T09:12:03.5Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.northwind.internal:9090/graph?g0.expr=crm_latency_p95+%3E+2",
      "fingerprint": "c6e04358eb32d03f"
    }
  ],
  "groupLabels": {"job": "crm"},
  "commonLabels": {
    "alertname": "CRMSlowResponses",
    "instance": "crm.northwind.internal:443",
    "job": "crm",
    "severity": "warning"
  },
  "commonAnnotations": {"summary": "CRM p95 latency above 2s for 10 minutes"},
  "externalURL": "http://alertmanager.northwind.internal:9093",
  "version": "4",
  "groupKey": "{}/{severity=~\\"warning|critical\\"}:{job=\\"crm\\"}",
  "truncatedAlerts": 1
}
"""

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def receiver_token(web: Web) -> str:
    with unit_of_work(web.factory) as session:
        _, token = create_receiver_token(session, name="alertmanager", now=T0)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **JSON}


def count(factory: sessionmaker[Session], table: type[Any]) -> int:
    with unit_of_work(factory) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def alert_rows(factory: sessionmaker[Session]) -> list[AlertRow]:
    with unit_of_work(factory) as session:
        return list(session.scalars(select(AlertRow).order_by(AlertRow.dedup_key)))


def test_the_example_fingerprints_are_alertmanagers_own() -> None:
    for group in (FIRING_GROUP, RESOLVED_GROUP, CRM_GROUP):
        for item in json.loads(group)["alerts"]:
            assert labels_fingerprint(item["labels"]) == item["fingerprint"]


# -- Alertmanager --------------------------------------------------------------------------


async def test_an_alertmanager_group_fires_and_resolves(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    fired = await client.post(ALERTMANAGER, content=FIRING_GROUP, headers=bearer(receiver_token))
    assert fired.status_code == 202, fired.text
    assert fired.json() == {
        "stored": 2,
        "ignored": 0,
        "dedup_keys": ["e82796058477e51a", "fc5c048a8aded205"],
        "components": ["acd"],
        "refused": [],
    }
    # Committed before the answer: a fresh session sees both.
    rows = alert_rows(web.factory)
    assert [(r.component_id, r.status, r.severity, r.receiver) for r in rows] == [
        ("acd", "firing", "critical", "alertmanager")
    ] * 2
    assert rows[0].summary == "ACDDown: CloudCX ACD is not answering health checks"
    assert rows[0].payload["generatorURL"].endswith("%3D%3D+0&g0.tab=1")

    listed = await client.get("/api/v1/alerts?status=firing", headers=web.bearer(Role.VIEWER))
    assert listed.status_code == 200
    assert {a["dedup_key"] for a in listed.json()["alerts"]} == {"e82796058477e51a", "fc5c048a8aded205"}
    assert "payload" not in listed.json()["alerts"][0]

    web.clock.advance(timedelta(minutes=15))
    resolved = await client.post(ALERTMANAGER, content=RESOLVED_GROUP, headers=bearer(receiver_token))
    assert resolved.status_code == 202, resolved.text
    assert resolved.json()["stored"] == 2
    rows = alert_rows(web.factory)
    assert [(r.status, r.received) for r in rows] == [("resolved", 2)] * 2
    assert all(r.resolved_at == web.clock.now() for r in rows)
    firing = await client.get("/api/v1/alerts?status=firing", headers=web.bearer(Role.VIEWER))
    assert firing.json() == {"alerts": [], "next_cursor": None}


async def test_a_truncated_group_maps_by_the_job_label(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    response = await client.post(ALERTMANAGER, content=CRM_GROUP, headers=bearer(receiver_token))
    assert response.status_code == 202, response.text
    assert response.json()["components"] == ["crm"]
    [row] = alert_rows(web.factory)
    assert (row.severity, row.payload["groupKey"]) == (
        "warning",
        '{}/{severity=~"warning|critical"}:{job="crm"}',
    )
    detail = await client.get(f"/api/v1/alerts/{row.id}", headers=web.bearer(Role.AGENT))
    assert detail.status_code == 200
    assert detail.json()["payload"]["labels"]["alertname"] == "CRMSlowResponses"
    missing = await client.get("/api/v1/alerts/999999", headers=web.bearer(Role.AGENT))
    assert missing.status_code == 404


async def test_a_burst_of_the_same_alert_makes_one_row(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    document = json.loads(FIRING_GROUP)
    document["alerts"] = document["alerts"][:1]
    body = json.dumps(document).encode()
    responses = await asyncio.gather(
        *(client.post(ALERTMANAGER, content=body, headers=bearer(receiver_token)) for _ in range(50))
    )
    assert [r.status_code for r in responses] == [202] * 50
    [row] = alert_rows(web.factory)
    assert (row.dedup_key, row.received) == ("e82796058477e51a", 50)


async def test_an_unknown_component_label_costs_only_its_own_alert(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    # Seen: one alert with an unknown component label made Standby refuse the whole group
    # with 422; Alertmanager does not retry a 4xx, so the valid critical alert was lost.
    document = json.loads(FIRING_GROUP)
    typo = {**document["alerts"][1], "labels": {"alertname": "ACDDown", "component": "acd-typo"}}
    del typo["fingerprint"]
    watchdog = {**document["alerts"][0], "labels": {"alertname": "Watchdog", "severity": "none"}}
    del watchdog["fingerprint"]
    document["alerts"] = [typo, document["alerts"][0], watchdog]
    response = await client.post(ALERTMANAGER, json=document, headers=bearer(receiver_token))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["stored"], answer["dedup_keys"], answer["components"]) == (
        1,
        ["e82796058477e51a"],
        ["acd"],
    )
    first, second = answer["refused"]
    assert (first["position"], first["location"], first["label"]) == (
        0,
        "alerts.0.labels.component",
        "component",
    )
    assert "its component label 'acd-typo' is not a component of the plan" in first["reason"]
    assert first["dedup_key"] == labels_fingerprint(typo["labels"])
    assert (second["position"], second["location"], second["label"]) == (2, "alerts.2", None)
    assert "alertname='Watchdog'" in second["reason"]
    [row] = alert_rows(web.factory)  # the valid critical alert is stored
    assert (row.dedup_key, row.component_id, row.severity) == ("e82796058477e51a", "acd", "critical")

    listed = await client.get("/api/v1/refused-alerts", headers=web.bearer(Role.VIEWER))
    assert listed.status_code == 200, listed.text
    kept = {r["id"]: r for r in listed.json()["refused"]}
    assert set(kept) == {first["id"], second["id"]}
    record = kept[first["id"]]
    assert (record["source"], record["receiver"], record["received"]) == ("alertmanager", "alertmanager", 1)
    assert record["group_key"] == '{}:{alertname="ACDDown"}'
    assert record["last_at"] == record["first_at"] == T0.isoformat().replace("+00:00", "Z")
    assert json.loads(record["raw"])["labels"] == typo["labels"]
    assert listed.json()["next_cursor"] is None

    # The same group again: the same records count it, nothing new.
    web.clock.advance(timedelta(minutes=5))
    again = await client.post(ALERTMANAGER, json=document, headers=bearer(receiver_token))
    assert [r["id"] for r in again.json()["refused"]] == [first["id"], second["id"]]
    recent = await client.get("/api/v1/refused-alerts?hours=1&limit=1", headers=web.bearer(Role.VIEWER))
    page = recent.json()
    assert len(page["refused"]) == 1 and page["refused"][0]["received"] == 2
    rest = await client.get(
        f"/api/v1/refused-alerts?hours=1&cursor={page['next_cursor']}", headers=web.bearer(Role.VIEWER)
    )
    assert len(rest.json()["refused"]) == 1 and rest.json()["next_cursor"] is None
    assert {page["refused"][0]["id"], rest.json()["refused"][0]["id"]} == {first["id"], second["id"]}


def _firing(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIRING_GROUP)
    document.update(changes)
    return document


def _alert_with(**changes: Any) -> dict[str, Any]:
    document = _firing()
    document["alerts"][0].update(changes)
    return document


# Bad alerts in a good notification: refused on their own (kept, listed in the answer),
# while the notification's other alert is taken.
BAD_ALERTS = [
    pytest.param(
        {"labels": {"alertname": "X", "port": 9115}}, "alerts.0.labels.port", "valid string", id="label"
    ),
    pytest.param({"startsAt": "yesterday"}, "alerts.0.startsAt", "datetime", id="time"),
    pytest.param({"status": "burning"}, "alerts.0.status", "'firing' or 'resolved'", id="status"),
    pytest.param(
        {"labels": {"alertname": "ACD\u0000Down"}},
        "alerts.0",
        "labels.alertname: text may not contain NUL characters",
        id="nul",
    ),
    pytest.param(
        {"labels": {f"l{i}": "v" for i in range(101)}}, "alerts.0.labels", "at most 100", id="labels"
    ),
]


async def test_bad_alerts_are_refused_alone_and_their_group_taken(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    for case in BAD_ALERTS:
        changes, location, message = case.values
        document = _alert_with(**changes)
        response = await client.post(ALERTMANAGER, json=document, headers=bearer(receiver_token))
        assert response.status_code == 202, (case.id, response.text)
        answer = response.json()
        assert answer["dedup_keys"] == ["fc5c048a8aded205"], case.id
        [refused] = answer["refused"]
        assert refused["location"] == location and message in refused["reason"], (case.id, refused)
        assert refused["dedup_key"] == "e82796058477e51a", case.id
    assert [r.dedup_key for r in alert_rows(web.factory)] == ["fc5c048a8aded205"]
    assert count(web.factory, RefusedAlertRow) == len(BAD_ALERTS)


BAD_ALERTMANAGER = [
    pytest.param(_firing(version="3"), 422, "body.version", "version '3' is not supported", id="version-3"),
    pytest.param(_firing(version=4), 422, "body.version", "version 4 is not supported", id="version-number"),
    pytest.param({"version": "4", "status": "firing"}, 422, "body.alerts", "Field required", id="no-alerts"),
    pytest.param(_firing(status="burning"), 422, "body.status", "'firing' or 'resolved'", id="status"),
    pytest.param(_firing(alerts={}), 422, "body.alerts", "valid list", id="alerts-object"),
    pytest.param(
        _firing(truncatedAlerts=-1), 422, "body.truncatedAlerts", "greater than or equal", id="truncated"
    ),
    pytest.param(
        _firing(alerts=[_firing()["alerts"][0]] * 1001), 422, "body.alerts", "at most 1000", id="too-many"
    ),
    pytest.param([1, 2], 422, "body", "valid dictionary", id="array"),
    pytest.param(
        _firing(groupLabels={"alertname": "ACD\u0000Down"}),
        422,
        "body",
        "groupLabels.alertname: text may not contain NUL characters",
        id="nul-group",
    ),
]


async def test_bad_alertmanager_bodies_are_refused_with_where_and_why(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    for case in BAD_ALERTMANAGER:
        document, status, location, message = case.values
        response = await client.post(ALERTMANAGER, json=document, headers=bearer(receiver_token))
        assert response.status_code == status, (case.id, response.text)
        problems = response.json()["detail"]
        assert any(p["location"] == location and message in p["message"] for p in problems), (
            case.id,
            problems,
        )
    assert count(web.factory, AlertRow) == 0
    assert count(web.factory, RefusedAlertRow) == 0


NOT_JSON = [
    (b"", "the body is empty"),
    (b"   ", "the body is empty"),
    (b'{"version": "4",', "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    (b"\xff\xfe{}", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b"alerts=1", "not valid JSON: Expecting value at line 1, column 1"),
]


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient, receiver_token: str) -> None:
    for body, message in NOT_JSON:
        for path in (ALERTMANAGER, METRICS, EVENTS):
            response = await client.post(path, content=body, headers=bearer(receiver_token))
            assert response.status_code == 400, (path, body[:20], response.text)
            assert message in response.json()["detail"]


async def test_an_oversized_body_is_a_413(client: httpx.AsyncClient, receiver_token: str) -> None:
    event = {"event_action": "trigger", "payload": {"summary": "x", "source": "acd", "severity": "info"}}
    event["payload"]["custom_details"] = {"blob": "x" * 600_000}
    response = await client.post(EVENTS, json=event, headers=bearer(receiver_token))
    assert response.status_code == 413
    assert "larger than 512 KB" in response.json()["detail"]


# -- the doors -----------------------------------------------------------------------------

RECEIVERS = [
    (ALERTMANAGER, FIRING_GROUP),
    (
        EVENTS,
        b'{"event_action": "trigger", "payload": {"summary": "s", "source": "acd", "severity": "info"}}',
    ),
    (HEARTBEAT, b""),
    (METRICS, b'{"metric": "abandon_rate", "value": 0.1}'),
]


@pytest.mark.parametrize(("path", "body"), RECEIVERS)
async def test_receivers_need_a_receiver_token_or_an_admin_or_manager(
    web: Web, client: httpx.AsyncClient, receiver_token: str, path: str, body: bytes
) -> None:
    for headers in ({}, {"Authorization": "Bearer sbr_not-a-token"}, {"Authorization": "Basic YTpi"}):
        refused = await client.post(path, content=body, headers={**headers, **JSON})
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
    for role in (Role.RESPONDER, Role.AGENT, Role.VIEWER):
        forbidden = await client.post(path, content=body, headers={**web.bearer(role), **JSON})
        assert forbidden.status_code == 403
        assert f"your role ({role.value}) may not post to the receivers" in forbidden.json()["detail"]
    for headers in (
        bearer(receiver_token),
        {**web.bearer(Role.ADMIN), **JSON},
        {**web.bearer(Role.MANAGER), **JSON},
    ):
        accepted = await client.post(path, content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
    with unit_of_work(web.factory) as session:
        revoke_receiver_token(session, name="alertmanager", now=T0)
    revoked = await client.post(path, content=body, headers=bearer(receiver_token))
    assert revoked.status_code == 401
    assert "unknown or revoked" in revoked.json()["detail"]


async def test_who_posted_is_recorded(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.post(
        ALERTMANAGER, content=CRM_GROUP, headers={**web.bearer(Role.MANAGER), **JSON}
    )
    assert response.status_code == 202
    assert alert_rows(web.factory)[0].receiver == "token:manager-token"


async def test_listing_alerts_needs_a_login(web: Web, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/alerts")).status_code == 401
    bad = await client.get("/api/v1/alerts?status=sleeping", headers=web.bearer(Role.VIEWER))
    assert bad.status_code == 422


async def test_without_a_plan_alerts_and_heartbeats_are_a_409(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    bare = make_web(session_factory, tmp_path, with_plan=False)
    async with bare.client() as c:
        headers = {**bare.bearer(Role.ADMIN), **JSON}
        for path, body in RECEIVERS[:3]:
            response = await c.post(path, content=body, headers=headers)
            assert response.status_code == 409, response.text
            assert "no plan has been loaded yet" in response.json()["detail"]
        metrics = await c.post(METRICS, content=RECEIVERS[3][1], headers=headers)
        assert metrics.status_code == 202
        assert metrics.json()["unwatched"] == []


# -- Events v2 -----------------------------------------------------------------------------


async def test_events_v2_with_a_routing_key_trigger_acknowledge_and_resolve(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    trigger = {
        "routing_key": receiver_token,
        "event_action": "trigger",
        "payload": {
            "summary": "ACD queue routing failing for billing",
            "source": "cloudcx-monitor",
            "severity": "critical",
            "timestamp": "2026-06-15T10:29:00.000+01:00",
            "component": "routing-engine",
            "group": "cloudcx",
            "class": "availability",
            "custom_details": {"failed_calls": 41, "region": "eu-west"},
        },
        "client": "CloudCX Monitor",
        "client_url": "https://monitor.cloudcx.example/incidents/7",
    }
    created = await client.post(EVENTS, json=trigger, headers=JSON)
    assert created.status_code == 202, created.text
    answer = created.json()
    assert answer["status"] == "success" and answer["message"] == "Event processed"
    key = answer["dedup_key"]
    assert len(key) == 32
    again = await client.post(EVENTS, json={**trigger, "dedup_key": key})
    assert again.json()["dedup_key"] == key

    for action, status in (("acknowledge", "acknowledged"), ("resolve", "resolved")):
        response = await client.post(
            EVENTS, json={"routing_key": receiver_token, "event_action": action, "dedup_key": key}
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": key}
        [row] = alert_rows(web.factory)
        assert row.status == status
    assert (row.component_id, row.receiver, row.received) == ("acd", "alertmanager", 4)
    assert row.payload["payload"]["class"] == "availability"
    assert receiver_token not in json.dumps(row.payload)

    unknown = await client.post(
        EVENTS, json={"routing_key": receiver_token, "event_action": "resolve", "dedup_key": "never-seen"}
    )
    assert unknown.status_code == 202 and unknown.json()["dedup_key"] == "never-seen"
    assert count(web.factory, AlertRow) == 1


async def test_an_events_routing_key_must_be_a_valid_token(web: Web, client: httpx.AsyncClient) -> None:
    event = {"event_action": "resolve", "dedup_key": "k"}
    for key in (None, "", "R0ABCDEF0123456789ABCDEF01234567", "sbr_wrong"):
        response = await client.post(EVENTS, json={**event, "routing_key": key})
        assert response.status_code == 401, response.text
    viewer = await client.post(EVENTS, json={**event, "routing_key": web.tokens[Role.VIEWER]})
    assert viewer.status_code == 403
    not_json = await client.post(EVENTS, content=b"routing_key=sbr_x")
    assert not_json.status_code == 401


BAD_EVENTS = [
    pytest.param({"event_action": "trigger"}, "body", "a trigger event needs a payload", id="no-payload"),
    pytest.param({"event_action": "acknowledge"}, "body", "needs the dedup_key", id="ack-no-key"),
    pytest.param({"event_action": "snooze", "dedup_key": "k"}, "body.event_action", "'trigger'", id="action"),
    pytest.param(
        {"event_action": "trigger", "payload": {"summary": "s", "source": "acd", "severity": "fatal"}},
        "body.payload.severity",
        "severity 'fatal' is not one of critical, error, warning, info",
        id="severity",
    ),
    pytest.param(
        {"event_action": "trigger", "payload": {"summary": "", "source": "acd", "severity": "info"}},
        "body.payload.summary",
        "at least 1 character",
        id="empty-summary",
    ),
    pytest.param(
        {"event_action": "trigger", "payload": {"source": "acd", "severity": "info"}},
        "body.payload.summary",
        "Field required",
        id="no-summary",
    ),
    pytest.param(
        {"event_action": "resolve", "dedup_key": "k" * 256}, "body.dedup_key", "at most 255", id="long-key"
    ),
    pytest.param(
        {
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "acd", "severity": "info", "timestamp": 0},
        },
        "body.payload.timestamp",
        "write the time as ISO 8601 text",
        id="time-as-number",
    ),
    pytest.param(
        {
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "acd", "severity": "info", "timestamp": "1718443800"},
        },
        "body.payload.timestamp",
        "write the time as ISO 8601 text",
        id="time-as-digits",
    ),
    pytest.param(
        {"event_action": "trigger", "payload": {"summary": "s", "source": "db-7", "severity": "info"}},
        "body.payload.source",
        "no component of the plan matches source 'db-7'",
        id="unmapped",
    ),
]


async def test_bad_events_are_refused_with_where_and_why(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    for case in BAD_EVENTS:
        event, location, message = case.values
        response = await client.post(EVENTS, json=event, headers=bearer(receiver_token))
        assert response.status_code == 422, (case.id, response.text)
        problems = response.json()["detail"]
        assert any(p["location"] == location and message in p["message"] for p in problems), (
            case.id,
            problems,
        )
    # What a database could not store is refused here, not a 500 or 503 there.
    trigger = (
        b'{"event_action": "trigger", "payload": {"summary": "s", "source": "acd", "severity": "info"%s}}'
    )
    for extra, message in UNSTORABLE:
        response = await client.post(EVENTS, content=trigger % extra, headers=bearer(receiver_token))
        assert response.status_code == 422, (extra, response.text)
        assert message in response.json()["detail"][0]["message"]
    assert count(web.factory, AlertRow) == 0


UNSTORABLE = [
    (b', "group": "a\\u0000b"', "payload.group: text may not contain NUL characters"),
    (b', "custom_details": {"n": [1, NaN]}', "payload.custom_details.n.1: numbers must be finite"),
    (b', "custom_details": {"n": 1e999}', "numbers must be finite"),
    (b', "custom_details": {"\\ud800": 1}', "text has an unpaired surrogate"),
    (b', "custom_details": ' + b"[" * 40 + b"]" * 40, "nested more than 32 levels deep"),
]


# -- heartbeats ----------------------------------------------------------------------------


async def test_heartbeats_for_a_component_with_a_heartbeat_probe(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    first = await client.post(HEARTBEAT, headers=bearer(receiver_token))
    assert first.status_code == 202, first.text
    assert first.json() == {"component_id": "ivr", "last_at": "2026-06-15T09:30:00Z", "received": 1}
    second = await client.post(HEARTBEAT, content=b"anything at all", headers=bearer(receiver_token))
    assert second.json()["received"] == 2
    assert count(web.factory, HeartbeatRow) == 1


WRONG_HEARTBEATS = [
    ("switchboard", 404, "no component 'switchboard' in the plan in force"),
    ("acd", 409, "component 'acd' has a http probe, not a heartbeat probe"),
    ("queue-stats", 409, "component 'queue-stats' has a metric probe, not a heartbeat probe"),
    ("leeds-power", 409, "component 'leeds-power' has no probe, not a heartbeat probe"),
    ("x" * 300, 404, "no component 'xxxxxxxx"),
]


async def test_a_heartbeat_for_the_wrong_component_is_a_4xx(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    for component, status, message in WRONG_HEARTBEATS:
        response = await client.post(f"/api/v1/heartbeats/{component}", headers=bearer(receiver_token))
        assert response.status_code == status, component
        assert message in response.json()["detail"]
    assert count(web.factory, HeartbeatRow) == 0


# -- metrics -------------------------------------------------------------------------------


async def test_metric_samples_as_a_list_or_one_sample(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    samples = {
        "samples": [
            {"metric": "abandon_rate", "value": 0.31},
            {"metric": "agents_logged_in", "value": 42, "at": "2026-06-15T10:29:00+01:00"},
            {"metric": "longest_wait_s", "value": 312.5, "at": "2026-06-15T09:29:30Z"},
        ]
    }
    response = await client.post(METRICS, json=samples, headers=bearer(receiver_token))
    assert response.status_code == 202, response.text
    assert response.json() == {
        "stored": 3,
        "metrics": ["abandon_rate", "agents_logged_in", "longest_wait_s"],
        "unwatched": ["agents_logged_in", "longest_wait_s"],
    }
    one = await client.post(
        METRICS, json={"metric": "abandon_rate", "value": 0}, headers=bearer(receiver_token)
    )
    assert one.status_code == 202 and one.json()["stored"] == 1
    assert count(web.factory, MetricSampleRow) == 4


def _samples(*values: Any) -> dict[str, Any]:
    return {"samples": [{"metric": "abandon_rate", "value": v} for v in values]}


BAD_METRICS = [
    pytest.param(
        _samples(0.1, "0.3"), "body.samples.1.value", "must be a number, not a string ('0.3')", id="string"
    ),
    pytest.param(_samples(0.1, 0.2, True), "body.samples.2.value", "not a boolean (true)", id="bool"),
    pytest.param(_samples(None), "body.samples.0.value", "not null", id="null"),
    pytest.param(_samples(1e308 * 10), "body.samples.0.value", "finite number", id="infinity"),
    pytest.param(
        {"metric": "abandon_rate", "value": "high"},
        "body.value",
        "not a string ('high')",
        id="one-sample-string",
    ),
    pytest.param(
        {"samples": [{"metric": "abandon rate", "value": 1}]},
        "body.samples.0.metric",
        "is not a metric name",
        id="name",
    ),
    pytest.param(
        {"samples": [{"metric": "abandon_rate", "value": 1, "at": "2026-06-15T09:00:00"}]},
        "body.samples.0.at",
        "has no offset",
        id="naive-time",
    ),
    pytest.param(
        {"samples": [{"metric": "abandon_rate", "value": 1, "at": "2026-06-17T09:00:00Z"}]},
        "body.samples.0.at",
        "more than a day ahead",
        id="future",
    ),
    pytest.param(
        {"metric": "abandon_rate", "value": 1, "at": "2026-06-01T09:00:00Z"},
        "body.at",
        "more than 7 days ago",
        id="one-sample-past",
    ),
    pytest.param({"samples": []}, "body.samples", "at least 1 item", id="empty"),
    pytest.param(_samples(*[1] * 10_001), "body.samples", "at most 10000 items", id="too-many"),
    pytest.param({"value": 1}, "body.samples", "Field required", id="shapeless"),
]


async def test_bad_metrics_are_refused_with_where_and_why(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    for case in BAD_METRICS:
        document, location, message = case.values
        body = json.dumps(document, allow_nan=True).encode()
        response = await client.post(METRICS, content=body, headers=bearer(receiver_token))
        assert response.status_code == 422, (case.id, response.text)
        problems = response.json()["detail"]
        assert any(p["location"] == location and message in p["message"] for p in problems), (
            case.id,
            problems,
        )
    nan = await client.post(
        METRICS, content=b'{"metric": "abandon_rate", "value": NaN}', headers=bearer(receiver_token)
    )
    assert nan.status_code == 422
    assert "finite number" in nan.json()["detail"][0]["message"]
    assert count(web.factory, MetricSampleRow) == 0


async def test_the_openapi_document_describes_the_receivers_bodies(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    alertmanager = paths[ALERTMANAGER]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "alerts" in alertmanager["properties"]
    assert "fingerprint" in json.dumps(alertmanager) and "$defs" not in json.dumps(alertmanager)
    event = paths[EVENTS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(event["properties"]) >= {"routing_key", "event_action", "dedup_key", "payload"}
    assert "/api/v1/heartbeats/{component_id}" in paths and METRICS in paths
    enqueue = paths["/v2/enqueue"]["post"]
    assert enqueue["requestBody"]["content"]["application/json"]["schema"] == event
    assert "415" in enqueue["responses"] and "415" in paths[ALERTMANAGER]["post"]["responses"]
    change = paths["/v2/change/enqueue"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(change["properties"]) >= {"routing_key", "payload", "links"}
    answer = paths[ALERTMANAGER]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/AlertsStored"}
    for listing in ("/api/v1/refused-alerts", "/api/v1/change-events"):
        assert "cursor" in {p["name"] for p in paths[listing]["get"]["parameters"]}


# -- content types -------------------------------------------------------------------------

NOT_JSON_TYPES = [
    "application/x-www-form-urlencoded",
    "text/plain; charset=utf-8",
    "multipart/form-data; b=x",
]


@pytest.mark.parametrize("path", [ALERTMANAGER, EVENTS, METRICS, "/v2/enqueue", "/v2/change/enqueue"])
async def test_a_body_declared_as_anything_but_json_is_a_415(
    web: Web, client: httpx.AsyncClient, receiver_token: str, path: str
) -> None:
    for declared in NOT_JSON_TYPES:
        headers = {**bearer(receiver_token), "Content-Type": declared}
        response = await client.post(path, content=FIRING_GROUP, headers=headers)
        assert response.status_code == 415, (declared, response.text)
        assert f"the body is declared as {declared!r}: send JSON" in response.json()["detail"]
    # JSON under its own name, a +json type, or no type at all, is read.
    for declared in ("application/json; charset=utf-8", "application/vnd.alertmanager+json", None):
        headers = bearer(receiver_token) | ({"Content-Type": declared} if declared else {})
        response = await client.post(path, content=b"[]", headers=headers)
        assert response.status_code == 422, (declared, response.text)
    # Without a token: 401 where the token is a header; where it may be the body's
    # routing_key, a body that cannot be JSON is a 415 first (it cannot hold one).
    stranger = await client.post(path, content=b"x", headers={"Content-Type": "text/plain"})
    assert stranger.status_code == (401 if path in (ALERTMANAGER, METRICS) else 415), stranger.text
    assert count(web.factory, AlertRow) == 0


# -- PagerDuty's own paths -----------------------------------------------------------------


async def test_pagerdutys_own_paths_take_events_and_change_events(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    trigger = {
        "routing_key": receiver_token,
        "event_action": "trigger",
        "dedup_key": "acd-routing",
        "payload": {"summary": "ACD routing failing", "source": "acd", "severity": "critical"},
    }
    response = await client.post("/v2/enqueue", json=trigger)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "acd-routing"}
    [row] = alert_rows(web.factory)
    assert (row.source, row.component_id, row.status, row.receiver) == (
        "events",
        "acd",
        "firing",
        "alertmanager",
    )

    change = {
        "routing_key": receiver_token,
        "payload": {
            "summary": "Deployed ACD routing rules v42",
            "source": "acd",
            "timestamp": "2026-06-15T09:10:00",
            "custom_details": {"build": 42},
        },
        "links": [{"href": "https://ci.example/42", "text": "build 42"}],
    }
    answer = await client.post("/v2/change/enqueue", json=change)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["status"], body["message"]) == ("success", "Change event processed")
    listed = await client.get("/api/v1/change-events", headers=web.bearer(Role.VIEWER))
    [kept] = listed.json()["change_events"]
    assert kept["id"] == int(body["id"])
    assert (kept["summary"], kept["component_id"], kept["receiver"]) == (
        "Deployed ACD routing rules v42",
        "acd",
        "alertmanager",
    )
    assert kept["at"] == "2026-06-15T09:10:00Z"  # no offset: UTC, as PagerDuty reads it
    assert kept["received_at"] == T0.isoformat().replace("+00:00", "Z")
    assert kept["payload"]["links"] == change["links"] and "routing_key" not in kept["payload"]
    unknown = await client.post("/v2/change/enqueue", json={**change, "routing_key": "sbr_nope"})
    assert unknown.status_code == 401
    empty = await client.post("/v2/change/enqueue", json={"routing_key": receiver_token, "payload": {}})
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["location"] == "body.payload.summary"
    # Seen with schemathesis: a number for the time was read as seconds since 1970.
    numeric = {**change, "payload": {**change["payload"], "timestamp": 0}}
    refused = await client.post("/v2/change/enqueue", json=numeric)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["location"] == "body.payload.timestamp"
    assert (
        len(
            (await client.get("/api/v1/change-events", headers=web.bearer(Role.VIEWER))).json()[
                "change_events"
            ]
        )
        == 1
    )


# -- paging --------------------------------------------------------------------------------


async def test_alerts_page_past_the_newest_thousand(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    total = 1_203
    # Distinct times and, for the last 250, one shared time: the cursor holds time and id.
    group = json.loads(FIRING_GROUP)
    template = group["alerts"][0]
    for start in range(0, total, 400):
        if start < total - 250:
            web.clock.advance(timedelta(seconds=1))
        alerts = []
        for n in range(start, min(start + 400, total)):
            item = {**template, "labels": {**template["labels"], "instance": f"node-{n}"}}
            del item["fingerprint"]
            alerts.append(item)
        response = await client.post(
            ALERTMANAGER, json={**group, "alerts": alerts}, headers=bearer(receiver_token)
        )
        assert response.status_code == 202 and response.json()["stored"] == len(alerts)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "/api/v1/alerts?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(query, headers=web.bearer(Role.VIEWER))
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [a["id"] for a in page["alerts"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert len(seen) == len(set(seen)) == total
    times = [
        (a.updated_at, a.id)
        for a in sorted(alert_rows(web.factory), key=lambda r: (r.updated_at, r.id), reverse=True)
    ]
    assert seen == [i for _, i in times]
    bad = await client.get("/api/v1/alerts?cursor=not-a-cursor", headers=web.bearer(Role.VIEWER))
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["location"] == "query.cursor"


async def test_the_overview_says_how_many_alerts_were_refused_in_the_last_day(
    web: Web, client: httpx.AsyncClient, receiver_token: str
) -> None:
    await log_in(client, Role.VIEWER)
    assert "refused in the last 24 h" not in (await client.get("/")).text
    document = json.loads(FIRING_GROUP)
    document["alerts"][0]["labels"]["standby_component"] = "acd-typo"
    response = await client.post(ALERTMANAGER, json=document, headers=bearer(receiver_token))
    assert len(response.json()["refused"]) == 1
    page = (await client.get("/")).text
    assert "1 alert refused in the last 24 h" in page
    assert '<a href="/api/v1/refused-alerts?hours=24">which, and why</a>' in page
    web.clock.advance(timedelta(hours=25))
    assert "refused in the last 24 h" not in (await client.get("/")).text
