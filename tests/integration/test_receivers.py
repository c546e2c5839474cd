"""The receivers' service: tokens, alert dedup and mapping, severity, heartbeats, metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.service import create_token
from standby.detect.alert_routing import labels_fingerprint, normalise_severity
from standby.detect.change_events import list_change_events, record_change_event
from standby.detect.paging import PageCursor
from standby.detect.payloads import (
    AlertmanagerWebhook,
    ChangeEventV2,
    EventV2,
    MetricsBody,
    read_alertmanager,
)
from standby.detect.receiver_tokens import (
    create_receiver_token,
    list_receiver_tokens,
    receiver_for_token,
    revoke_receiver_token,
)
from standby.detect.receivers import (
    Refused,
    get_alert,
    ingest_alertmanager,
    ingest_events,
    list_alerts,
    record_heartbeat,
    record_metrics,
)
from standby.detect.refused_alerts import MAX_RAW_ALERT, count_refused_alerts, list_refused_alerts
from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables import AlertRow, HeartbeatRow, MetricSampleRow, ReceiverTokenRow

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)

PLAN = Plan.model_validate(
    {
        "organisation": {"name": "Test centre"},
        "components": [
            {
                "id": "acd",
                "name": "ACD",
                "alerts": {"labels": {"job": "cloudcx"}, "sources": ["cloudcx-monitor"]},
            },
            {"id": "acd-db", "name": "ACD database", "alerts": {"labels": {"job": "cloudcx", "role": "db"}}},
            {"id": "crm", "name": "CRM", "probe": {"type": "http", "target": "http://127.0.0.1:1/"}},
            {"id": "wfm", "name": "WFM", "alerts": {"labels": {"job": "crm"}}},
            {"id": "ivr", "name": "IVR", "probe": {"type": "heartbeat", "every_s": 60}},
            {"id": "vpn", "name": "VPN"},
            {
                "id": "queue-stats",
                "name": "Queue stats",
                "probe": {"type": "metric", "metric": "abandon_rate", "above": 0.25},
            },
        ],
    }
)

Uow = Callable[[], AbstractContextManager[Session]]


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Uow:
    return lambda: unit_of_work(session_factory)


def webhook(*alerts: dict[str, Any], status: str = "firing") -> AlertmanagerWebhook:
    return AlertmanagerWebhook.model_validate(
        {
            "version": "4",
            "groupKey": '{}:{alertname="Test"}',
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "standby",
            "externalURL": "http://alertmanager:9093",
            "alerts": list(alerts),
        }
    )


def alert(labels: dict[str, str], status: str = "firing", **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "it broke"},
        "startsAt": "2026-06-15T09:27:41.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        **extra,
    }


def event(action: str, dedup_key: str | None = None, **payload: Any) -> EventV2:
    body: dict[str, Any] = {"event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    if payload or action == "trigger":
        body["payload"] = {"summary": "ACD not routing", "source": "cloudcx-monitor", "severity": "critical"}
        body["payload"].update(payload)
    return EventV2.model_validate(body)


def rows(uow: Uow) -> list[AlertRow]:
    with uow() as session:
        return list(session.scalars(select(AlertRow).order_by(AlertRow.id)))


# -- receiver tokens -----------------------------------------------------------------------


def test_a_receiver_token_is_shown_once_stored_hashed_and_revocable(uow: Uow) -> None:
    with uow() as session:
        info, token = create_receiver_token(session, name="alertmanager", now=T0)
    assert token.startswith("sbr_") and len(token) > 40
    assert info.name == "alertmanager" and token.startswith(info.prefix) and info.active
    with uow() as session:
        stored = session.scalars(select(ReceiverTokenRow)).one()
        assert token not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
        assert receiver_for_token(session, token, T0 + timedelta(minutes=5)) == "alertmanager"
        assert receiver_for_token(session, token + "x", T0) is None
    with uow() as session:
        listed = list_receiver_tokens(session)
        assert [(t.name, t.last_used_at) for t in listed] == [("alertmanager", T0 + timedelta(minutes=5))]
        revoke_receiver_token(session, name="alertmanager", now=T0 + timedelta(hours=1))
    with uow() as session:
        assert receiver_for_token(session, token, T0 + timedelta(hours=2)) is None
        assert not list_receiver_tokens(session)[0].active


def test_receiver_tokens_refuse_bad_names_duplicates_and_api_tokens(uow: Uow) -> None:
    with uow() as session:
        create_receiver_token(session, name="am", now=T0)
        api_token = create_token(session, name="am", role="admin", now=T0)
    with uow() as session, pytest.raises(Conflict, match="already exists"):
        create_receiver_token(session, name="am", now=T0)
    with uow() as session, pytest.raises(InvalidInput, match="not a receiver name"):
        create_receiver_token(session, name="no spaces", now=T0)
    with uow() as session, pytest.raises(NotFound, match="no receiver token named 'nope'"):
        revoke_receiver_token(session, name="nope", now=T0)
    with uow() as session:
        assert receiver_for_token(session, api_token, T0) is None


# -- Alertmanager --------------------------------------------------------------------------


def test_alertmanager_repeats_update_one_row_per_fingerprint(uow: Uow) -> None:
    labels = {"alertname": "ACDDown", "job": "cloudcx", "severity": "critical"}
    payload = webhook(alert(labels, fingerprint="e82796058477e51a"))
    for minute in range(3):
        with uow() as session:
            result = ingest_alertmanager(
                session, payload=payload, plan=PLAN, receiver="am", now=T0 + timedelta(minutes=minute)
            )
        assert (result.stored, result.ignored, result.dedup_keys) == (1, 0, ("e82796058477e51a",))
    [row] = rows(uow)
    assert (row.source, row.dedup_key, row.component_id, row.status) == (
        "alertmanager",
        "e82796058477e51a",
        "acd",
        "firing",
    )
    assert (row.received, row.first_at, row.updated_at) == (3, T0, T0 + timedelta(minutes=2))
    assert row.summary == "ACDDown: it broke" and row.severity == "critical" and row.receiver == "am"
    assert row.payload["groupKey"] == '{}:{alertname="Test"}' and row.payload["labels"] == labels


def test_without_a_fingerprint_the_key_is_the_one_alertmanager_computes(uow: Uow) -> None:
    # Labels and fingerprint of a real Alertmanager notification.
    labels = {"alertname": "HighValue", "instance": "api:8000", "job": "api", "severity": "high"}
    assert labels_fingerprint(labels) == "948c667b1fc76492"
    assert labels_fingerprint({}) == "cbf29ce484222325"
    with uow() as session:
        result = ingest_alertmanager(
            session,
            payload=webhook(alert({**labels, "component": "crm"})),
            plan=PLAN,
            receiver="am",
            now=T0,
        )
    assert result.dedup_keys == (labels_fingerprint({**labels, "component": "crm"}),)


@pytest.mark.parametrize(
    ("labels", "component"),
    [
        # 1. standby_component names it, whatever else the labels say
        ({"standby_component": "vpn", "component": "crm", "job": "cloudcx"}, "vpn"),
        # 2. a component label that is a component id
        ({"component": "crm", "job": "cloudcx"}, "crm"),
        # ... one that is not falls through to the routing
        ({"component": "mysql", "job": "cloudcx"}, "acd"),
        # 3. the plan's routing: every label matches; the most specific routing wins
        ({"job": "cloudcx", "instance": "x"}, "acd"),
        ({"job": "cloudcx", "role": "db"}, "acd-db"),
        # ... before a job label naming a component
        ({"job": "crm"}, "wfm"),
        # 4. a service or job label that is a component id
        ({"service": "vpn", "job": "ivr"}, "vpn"),
        ({"job": "ivr"}, "ivr"),
    ],
)
def test_alertmanager_alerts_map_to_components_in_order(
    uow: Uow, labels: dict[str, str], component: str
) -> None:
    with uow() as session:
        result = ingest_alertmanager(
            session, payload=webhook(alert(labels)), plan=PLAN, receiver="am", now=T0
        )
    assert result.components == (component,)
    assert rows(uow)[0].component_id == component


def test_unmapped_alerts_are_refused_alone_and_the_valid_ones_taken(uow: Uow) -> None:
    # Seen: one alert with an unknown component label refused the whole group, and
    # Alertmanager never retries a 4xx, so the valid critical alert beside it was lost.
    payload = webhook(
        alert({"alertname": "ACDDown", "job": "cloudcx", "severity": "critical"}),
        alert({"alertname": "DiskFull", "job": "node", "instance": "db-7:9100"}),
        alert({"alertname": "Typo", "standby_component": "acdd"}),
        alert({"alertname": "QueueStuck", "component": "billing-queue"}),
    )
    with uow() as session:
        result = ingest_alertmanager(session, payload=payload, plan=PLAN, receiver="am", now=T0)
    [stored] = rows(uow)
    assert (stored.component_id, stored.severity, stored.status) == ("acd", "critical", "firing")
    assert (result.stored, result.components) == (1, ("acd",))
    refused = result.refused
    assert [r.position for r in refused] == [1, 2, 3]
    assert [r.location for r in refused] == [
        "alerts.1",
        "alerts.2.labels.standby_component",
        "alerts.3.labels.component",
    ]
    assert [r.label for r in refused] == [None, "standby_component", "component"]
    assert "alertname='DiskFull'" in refused[0].reason and "instance='db-7:9100'" in refused[0].reason
    assert "standby_component label 'acdd' is not a component" in refused[1].reason
    assert "component label 'billing-queue' is not a component of the plan" in refused[2].reason
    assert all(r.receiver == "am" and r.first_at == T0 and r.received == 1 for r in refused)
    assert json.loads(refused[2].raw)["labels"] == {"alertname": "QueueStuck", "component": "billing-queue"}
    assert refused[2].group_key == '{}:{alertname="Test"}'
    with uow() as session:
        kept = list_refused_alerts(session)
        assert {r.id for r in kept} == {r.id for r in refused}
        assert count_refused_alerts(session, since=T0) == 3
        assert count_refused_alerts(session, since=T0 + timedelta(seconds=1)) == 0


def test_the_same_refusal_again_counts_on_its_record(uow: Uow) -> None:
    payload = webhook(alert({"alertname": "Typo", "standby_component": "acdd"}))
    with uow() as session:
        first = ingest_alertmanager(session, payload=payload, plan=PLAN, receiver="am", now=T0)
    later = T0 + timedelta(minutes=5)
    with uow() as session:
        again = ingest_alertmanager(session, payload=payload, plan=PLAN, receiver="am", now=later)
        other = ingest_alertmanager(session, payload=payload, plan=PLAN, receiver="am-2", now=later)
    assert again.refused[0].id == first.refused[0].id
    assert (again.refused[0].received, again.refused[0].first_at, again.refused[0].last_at) == (2, T0, later)
    assert other.refused[0].id != first.refused[0].id  # another sender: another record
    with uow() as session:
        assert len(list_refused_alerts(session)) == 2
        assert count_refused_alerts(session, since=later) == 2


def test_unreadable_alerts_are_refused_alone_with_where_and_the_alert_as_sent() -> None:
    good = alert({"alertname": "ACDDown", "job": "cloudcx"})
    document = {
        "version": "4",
        "status": "firing",
        "groupKey": "g",
        "alerts": [
            {**good, "labels": {"alertname": "X", "port": 9115}, "fingerprint": "aaaa"},
            good,
            {**good, "labels": {"alertname": "Nul\u0000Byte"}},
            "not an alert",
            {**good, "startsAt": "yesterday"},
        ],
    }
    group = read_alertmanager(document)
    assert group.positions == (1,)
    assert [a.labels["alertname"] for a in group.webhook.alerts] == ["ACDDown"]
    port, nul, text, time = group.unreadable
    assert (port.position, port.location, port.label) == (0, "alerts.0.labels.port", "port")
    assert "labels.port: Input should be a valid string" in port.reason
    assert (nul.location, nul.label) == ("alerts.2", "alertname")
    assert "labels.alertname: text may not contain NUL characters" in nul.reason
    assert (text.location, text.label) == ("alerts.3", None)
    assert (time.location, time.label) == ("alerts.4.startsAt", None)


def test_refused_alerts_keep_any_text_and_a_bounded_copy(uow: Uow) -> None:
    document = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {**alert({"alertname": "Nul\u0000Byte\ud800"}), "fingerprint": "f00d"},
            {**alert({"alertname": "Big"}), "annotations": {f"a{i}": "y" * 5000 for i in range(9)}},
        ],
    }
    group = read_alertmanager(document)
    with uow() as session:
        result = ingest_alertmanager(session, payload=group, plan=PLAN, receiver="am", now=T0)
    nul, big = result.refused
    assert nul.dedup_key == "f00d" and not nul.raw_truncated
    assert json.loads(nul.raw)["labels"]["alertname"] == "Nul\u0000Byte\ud800"
    assert nul.reason == "labels.alertname: text may not contain NUL characters (\\u0000)"
    assert big.raw_truncated and len(big.raw) == MAX_RAW_ALERT  # valid, but matches no component
    assert big.reason.startswith("no component of the plan matches this alert (labels alertname='Big'")


def test_resolved_alerts_resolve_their_row_and_unknown_ones_are_ignored(uow: Uow) -> None:
    firing = alert({"alertname": "ACDDown", "job": "cloudcx"})
    with uow() as session:
        ingest_alertmanager(session, payload=webhook(firing), plan=PLAN, receiver="am", now=T0)
    resolved = {**firing, "status": "resolved", "endsAt": "2026-06-15T09:41:00Z"}
    never_seen = alert({"alertname": "Gone", "job": "nothing-we-know"}, status="resolved")
    later = T0 + timedelta(minutes=10)
    with uow() as session:
        result = ingest_alertmanager(
            session,
            payload=webhook(resolved, never_seen, status="resolved"),
            plan=PLAN,
            receiver="am",
            now=later,
        )
    assert (result.stored, result.ignored, result.components) == (1, 1, ("acd",))
    [row] = rows(uow)
    assert (row.status, row.resolved_at, row.received) == ("resolved", later, 2)
    assert row.payload["endsAt"] == "2026-06-15T09:41:00Z"
    # It fires again: the same row, firing, no longer resolved.
    with uow() as session:
        ingest_alertmanager(session, payload=webhook(firing), plan=PLAN, receiver="am", now=later)
    [row] = rows(uow)
    assert (row.status, row.resolved_at, row.received, row.first_at) == ("firing", None, 3, T0)


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        (None, "critical"),
        ("critical", "critical"),
        ("CRITICAL", "critical"),
        ("page", "critical"),
        (" Page ", "critical"),
        ("error", "error"),
        ("high", "error"),
        ("warning", "warning"),
        ("Warn", "warning"),
        ("info", "info"),
        ("none", "info"),
        ("something-new", "critical"),
    ],
)
def test_severity_is_normalised(word: str | None, severity: str) -> None:
    assert normalise_severity(word) == severity


def test_the_severity_label_sets_the_stored_severity(uow: Uow) -> None:
    payload = webhook(
        alert({"alertname": "A", "job": "cloudcx", "severity": "warn"}),
        alert({"alertname": "B", "job": "cloudcx"}),
    )
    with uow() as session:
        ingest_alertmanager(session, payload=payload, plan=PLAN, receiver="am", now=T0)
    assert sorted((r.summary, r.severity) for r in rows(uow)) == [
        ("A: it broke", "warning"),
        ("B: it broke", "critical"),
    ]


# -- Events v2 -----------------------------------------------------------------------------


def test_events_trigger_acknowledge_resolve_on_one_row(uow: Uow) -> None:
    with uow() as session:
        first = ingest_events(
            session, event=event("trigger", severity="error"), plan=PLAN, receiver="r", now=T0
        )
    [key] = first.dedup_keys
    assert len(key) == 32 and first.components == ("acd",)
    steps = [
        (event("trigger", key, severity="critical"), "firing", 2),
        (event("acknowledge", key), "acknowledged", 3),
        (event("trigger", key), "acknowledged", 4),  # firing again does not undo the acknowledgement
        (event("resolve", key), "resolved", 5),
        (event("acknowledge", key), "resolved", 6),  # too late to acknowledge
        (event("resolve", key), "resolved", 7),  # idempotent
    ]
    for number, (step, status, received) in enumerate(steps, start=1):
        with uow() as session:
            result = ingest_events(
                session, event=step, plan=PLAN, receiver="r", now=T0 + timedelta(minutes=number)
            )
        assert result.dedup_keys == (key,) and result.stored == 1
        [row] = rows(uow)
        assert (row.status, row.received) == (status, received), step.event_action
    assert row.resolved_at == T0 + timedelta(minutes=4) and row.severity == "critical"
    assert row.payload["payload"]["source"] == "cloudcx-monitor" and "routing_key" not in row.payload


def test_acknowledge_or_resolve_of_an_unknown_key_is_accepted_and_ignored(uow: Uow) -> None:
    for action in ("acknowledge", "resolve"):
        with uow() as session:
            result = ingest_events(
                session, event=event(action, "never-seen"), plan=PLAN, receiver="r", now=T0
            )
        assert (result.stored, result.ignored, result.dedup_keys) == (0, 1, ("never-seen",))
    assert rows(uow) == []


@pytest.mark.parametrize(
    ("payload", "component"),
    [
        ({"custom_details": {"standby_component": "vpn"}, "component": "crm"}, "vpn"),
        ({"component": "crm"}, "crm"),
        ({"custom_details": {"component": "ivr"}}, "ivr"),
        ({"component": "mysql"}, "acd"),  # not an id: the source's routing decides
        ({"source": "cloudcx-monitor"}, "acd"),
        ({"source": "vpn"}, "vpn"),
    ],
)
def test_events_map_to_components_in_order(uow: Uow, payload: dict[str, Any], component: str) -> None:
    with uow() as session:
        result = ingest_events(
            session, event=event("trigger", "k", **payload), plan=PLAN, receiver="r", now=T0
        )
    assert result.components == (component,)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"source": "db-7.northwind.internal"},
            "no component of the plan matches source 'db-7.northwind.internal'",
        ),
        ({"custom_details": {"standby_component": "acdd"}}, "standby_component 'acdd' is not a component"),
    ],
)
def test_an_unmapped_trigger_is_refused_and_kept(uow: Uow, payload: dict[str, Any], message: str) -> None:
    with uow() as session:
        result = ingest_events(
            session, event=event("trigger", "k", **payload), plan=PLAN, receiver="r", now=T0
        )
    [refused] = result.refused
    assert message in refused.reason
    assert (refused.source, refused.dedup_key, refused.receiver) == ("events", "k", "r")
    assert result.stored == 0
    assert rows(uow) == []
    with uow() as session:
        assert [r.id for r in list_refused_alerts(session)] == [refused.id]


def test_alerts_are_listed_newest_first_and_filtered(uow: Uow) -> None:
    with uow() as session:
        ingest_events(session, event=event("trigger", "a"), plan=PLAN, receiver="r", now=T0)
        ingest_events(session, event=event("trigger", "b", source="vpn"), plan=PLAN, receiver="r", now=T0)
        ingest_events(session, event=event("resolve", "a"), plan=PLAN, receiver="r", now=T0 + timedelta(1))
    with uow() as session:
        assert [a.dedup_key for a in list_alerts(session)] == ["a", "b"]
        assert [a.dedup_key for a in list_alerts(session, status="firing")] == ["b"]
        assert [a.dedup_key for a in list_alerts(session, component_id="acd")] == ["a"]
        assert len(list_alerts(session, limit=1)) == 1
        first = list_alerts(session)[0]
        assert get_alert(session, first.id).payload["dedup_key"] == "a"
        with pytest.raises(NotFound):
            get_alert(session, 999)


# -- heartbeats and metrics ----------------------------------------------------------------


def test_heartbeats_are_counted_for_components_with_a_heartbeat_probe(uow: Uow) -> None:
    for minute in range(3):
        with uow() as session:
            info = record_heartbeat(
                session, component_id="ivr", plan=PLAN, now=T0 + timedelta(minutes=minute)
            )
    assert (info.component_id, info.last_at, info.received) == ("ivr", T0 + timedelta(minutes=2), 3)
    with uow() as session:
        assert session.scalar(select(func.count()).select_from(HeartbeatRow)) == 1


@pytest.mark.parametrize(
    ("component", "error", "message"),
    [
        ("nope", NotFound, "no component 'nope' in the plan"),
        ("crm", Conflict, "'crm' has a http probe, not a heartbeat probe"),
        ("vpn", Conflict, "'vpn' has no probe, not a heartbeat probe"),
        ("queue-stats", Conflict, "has a metric probe"),
    ],
)
def test_a_heartbeat_needs_a_component_with_a_heartbeat_probe(
    uow: Uow, component: str, error: type[Exception], message: str
) -> None:
    with uow() as session, pytest.raises(error, match=message):
        record_heartbeat(session, component_id=component, plan=PLAN, now=T0)


def samples(*items: dict[str, Any]) -> MetricsBody:
    return MetricsBody.model_validate({"samples": list(items)})


def test_metric_samples_are_stored_at_their_time_or_now(uow: Uow) -> None:
    body = samples(
        {"metric": "abandon_rate", "value": 0.31},
        {"metric": "agents_logged_in", "value": 42, "at": "2026-06-15T10:29:00+01:00"},
        {"metric": "abandon_rate", "value": 0.29, "at": "2026-06-15T09:29:30Z"},
    )
    with uow() as session:
        result = record_metrics(session, samples=body.samples, now=T0, plan=PLAN)
    assert (result.stored, result.metrics, result.unwatched) == (
        3,
        ("abandon_rate", "agents_logged_in"),
        ("agents_logged_in",),
    )
    with uow() as session:
        stored = session.execute(
            select(
                MetricSampleRow.metric, MetricSampleRow.value, MetricSampleRow.at, MetricSampleRow.received_at
            ).order_by(MetricSampleRow.id)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("abandon_rate", 0.31, T0, T0),
        ("agents_logged_in", 42.0, T0 - timedelta(minutes=1), T0),
        ("abandon_rate", 0.29, T0 - timedelta(seconds=30), T0),
    ]


def test_samples_too_far_ahead_or_behind_refuse_the_request(uow: Uow) -> None:
    body = samples(
        {"metric": "abandon_rate", "value": 0.1, "at": (T0 + timedelta(hours=23)).isoformat()},
        {"metric": "abandon_rate", "value": 0.1, "at": (T0 + timedelta(days=1, seconds=1)).isoformat()},
        {"metric": "abandon_rate", "value": 0.1, "at": (T0 - timedelta(days=7, seconds=1)).isoformat()},
    )
    with uow() as session, pytest.raises(Refused) as refused:
        record_metrics(session, samples=body.samples, now=T0)
    problems = refused.value.problems
    assert [p["location"] for p in problems] == ["samples.1.at", "samples.2.at"]
    assert problems[0]["message"] == "2026-06-16T09:30:01+00:00 is more than a day ahead"
    assert problems[1]["message"] == "2026-06-08T09:29:59+00:00 is more than 7 days ago"
    with uow() as session:
        assert session.scalar(select(func.count()).select_from(MetricSampleRow)) == 0


# -- change events -------------------------------------------------------------------------


def change(**payload: Any) -> ChangeEventV2:
    return ChangeEventV2.model_validate({"payload": {"summary": "Deployed v42", **payload}})


def test_change_events_are_kept_tied_to_the_component_they_name_if_any(uow: Uow) -> None:
    with uow() as session:
        named = record_change_event(
            session, event=change(custom_details={"component": "crm"}), plan=PLAN, receiver="ci", now=T0
        )
        routed = record_change_event(
            session, event=change(source="cloudcx-monitor"), plan=PLAN, receiver="ci", now=T0
        )
        loose = record_change_event(
            session,
            event=change(source="db-7", timestamp="2026-06-15T08:00:00Z"),
            plan=PLAN,
            receiver="ci",
            now=T0,
        )
        planless = record_change_event(session, event=change(source="acd"), plan=None, receiver="ci", now=T0)
    assert (named.component_id, routed.component_id, loose.component_id) == ("crm", "acd", None)
    assert planless.component_id is None
    assert (loose.at, loose.received_at, named.at) == (T0 - timedelta(hours=1, minutes=30), T0, T0)
    with uow() as session:
        listed = list_change_events(session)
        assert [c.id for c in listed] == [planless.id, routed.id, named.id, loose.id]
        assert [c.id for c in list_change_events(session, component_id="crm")] == [named.id]
        last = listed[1]
        after = list_change_events(session, after=PageCursor(last.at, last.id))
        assert [c.id for c in after] == [named.id, loose.id]
