"""The receivers: alerts, heartbeats and metrics the centre's own systems send to Standby.

A service: functions take a Session and the time, and never commit (the unit of work
does, before the receiver answers 2xx, so an acknowledged alert is stored).

Receiver tokens are in `detect.receiver_tokens`.

Alerts are kept one row per (source, dedup key). A repeated alert updates its row
(`received` counts the posts) with an atomic upsert, so a burst of the same alert from
several senders at once still makes one row. Each firing alert is mapped to a
component of the plan, in this order:

1. a `standby_component` label (Events v2: `custom_details.standby_component`) names
   it; naming a component the plan lacks is an error, not a fall-through;
2. a `component` label (Events v2: `payload.component` or `custom_details.component`)
   that is a component id of the plan;
3. the plan's `alerts:` routing: every label of `alerts.labels` matches (the component
   with the most labels wins, then plan order), or `payload.source` is in `alerts.sources`;
4. a component whose id is the event's `payload.source`, or the alert's `service` or
   `job` label.

An Alertmanager alert that maps to nothing, or does not fit the shape, is refused on
its own: the group's other alerts are still taken (Alertmanager never sends a group
again after a 4xx, so refusing it whole would lose them), and the refused one is kept
in `refused_alerts` with where and why. An Events v2 trigger that maps to nothing is
kept the same way, and its sender is told (the API's 422). A resolve (or acknowledge)
of an alert never seen is accepted and ignored, as PagerDuty does.

Refused alerts are kept by `detect.refused_alerts`; change events by `detect.change_events`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from standby.detect.alert_routing import (
    alertmanager_dedup_key,
    alertmanager_summary,
    map_event,
    normalise_severity,
    route_labels,
    short_summary,
)
from standby.detect.paging import PageCursor, after_cursor
from standby.detect.payloads import (
    AlertmanagerGroup,
    AlertmanagerWebhook,
    EventV2,
    MetricSample,
    UnreadableAlert,
)
from standby.detect.refused_alerts import RefusedAlertInfo, refuse
from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.probes import HeartbeatProbe, MetricProbe
from standby.plan.schema import Plan
from standby.store.tables import AlertRow, HeartbeatRow, MetricSampleRow
from standby.store.upsert import upsert

MAX_FUTURE = timedelta(days=1)
MAX_PAST = timedelta(days=7)
SOURCE_ALERTMANAGER = "alertmanager"
SOURCE_EVENTS = "events"


class Refused(InvalidInput):
    """A request the receivers cannot use at all; `problems` says where and why (the API's 422)."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        first = problems[0]["message"] if problems else "refused"
        super().__init__(f"{len(problems)} problem(s); first: {first}")


@dataclass(frozen=True)
class IngestResult:
    """What a request of alerts did: alerts stored (new or updated), ignored, and refused."""

    stored: int
    ignored: int
    dedup_keys: tuple[str, ...]
    """The dedup key of each alert taken (stored or ignored), in the request's order."""
    components: tuple[str, ...]
    """The components the stored alerts are about, without repeats, in first-seen order."""
    refused: tuple[RefusedAlertInfo, ...] = ()
    """The alerts refused, kept in `refused_alerts`, in the request's order."""


@dataclass(frozen=True)
class HeartbeatInfo:
    """A component's last heartbeat and how many have come."""

    component_id: str
    last_at: datetime
    received: int


@dataclass(frozen=True)
class MetricsResult:
    """What a request of metric samples stored."""

    stored: int
    metrics: tuple[str, ...]
    """The metric names, without repeats, in first-seen order."""
    unwatched: tuple[str, ...]
    """Of those, the ones no metric probe of the plan watches (stored all the same)."""


@dataclass(frozen=True)
class AlertInfo:
    """An alert as listed: where it came from, what it is about, its state and counts."""

    id: int
    source: str
    dedup_key: str
    component_id: str
    status: str
    severity: str
    summary: str
    receiver: str
    first_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    received: int
    payload: dict[str, Any]


# -- alerts ------------------------------------------------------------------------------


def ingest_alertmanager(
    session: Session,
    *,
    payload: AlertmanagerWebhook | AlertmanagerGroup,
    plan: Plan,
    receiver: str,
    now: datetime,
) -> IngestResult:
    """Store a notification's alerts, one row per fingerprint; keep unmapped or unreadable ones as refused.

    The valid alerts are taken whatever the others are: Alertmanager does not send a
    group again after a 4xx, so the answer is a 2xx that lists what was refused.
    """
    group = payload if isinstance(payload, AlertmanagerGroup) else AlertmanagerGroup.whole(payload)
    webhook = group.webhook
    header = {"groupKey": webhook.groupKey, "receiver": webhook.receiver, "externalURL": webhook.externalURL}
    refusals: dict[int, RefusedAlertInfo] = {}
    for unreadable in group.unreadable:
        refusals[unreadable.position] = _refuse_unreadable(
            session, unreadable, group_key=webhook.groupKey, receiver=receiver, now=now
        )
    stored = ignored = 0
    keys: list[str] = []
    components: dict[str, None] = {}
    for alert, position in zip(webhook.alerts, group.positions, strict=True):
        key = alertmanager_dedup_key(alert)
        document = {**alert.model_dump(mode="json"), **header}
        if alert.status == "resolved":
            found = _resolve(session, source=SOURCE_ALERTMANAGER, key=key, now=now, payload=document)
            keys.append(key)
            if found is None:
                ignored += 1
            else:
                stored += 1
                components[found] = None
            continue
        mapping = route_labels(plan, alert.labels)
        if mapping.component is None:
            refusals[position] = refuse(
                session,
                source=SOURCE_ALERTMANAGER,
                receiver=receiver,
                dedup_key=key,
                group_key=webhook.groupKey,
                position=position,
                location=f"alerts.{position}" + (f".labels.{mapping.label}" if mapping.label else ""),
                label=mapping.label,
                reason=mapping.why,
                raw=alert.model_dump(mode="json", exclude_none=True),
                now=now,
            )
            continue
        _trigger(
            session,
            source=SOURCE_ALERTMANAGER,
            key=key,
            component_id=mapping.component,
            severity=normalise_severity(alert.labels.get("severity")),
            summary=alertmanager_summary(alert),
            receiver=receiver,
            now=now,
            payload=document,
        )
        keys.append(key)
        stored += 1
        components[mapping.component] = None
    refused = tuple(refusals[p] for p in sorted(refusals))
    return IngestResult(stored, ignored, tuple(keys), tuple(components), refused)


def ingest_events(
    session: Session, *, event: EventV2, plan: Plan, receiver: str, now: datetime
) -> IngestResult:
    """Apply an Events v2 event: trigger (upsert), acknowledge or resolve by dedup key.

    A trigger without a dedup key gets a new one (returned); an acknowledge or resolve
    of an unknown key is ignored. A trigger that maps to no component is kept as
    refused (in the result's `refused`), and nothing else is written.
    """
    if event.event_action != "trigger":
        assert event.dedup_key is not None  # the payload model requires it
        key = event.dedup_key
        if event.event_action == "resolve":
            found = _resolve(session, source=SOURCE_EVENTS, key=key, now=now, payload=None)
        else:
            found = _acknowledge(session, source=SOURCE_EVENTS, key=key, now=now)
        if found is None:
            return IngestResult(0, 1, (key,), ())
        return IngestResult(1, 0, (key,), (found,))
    assert event.payload is not None  # the payload model requires it for a trigger
    component, why = map_event(plan, event)
    key = event.dedup_key or uuid.uuid4().hex
    if component is None:
        details = event.payload.custom_details or {}
        field = "custom_details.standby_component" if "standby_component" in details else "source"
        refused = refuse(
            session,
            source=SOURCE_EVENTS,
            receiver=receiver,
            dedup_key=event.dedup_key,
            group_key=None,
            position=0,
            location=f"payload.{field}",
            label=field,
            reason=why,
            raw=event.model_dump(mode="json", by_alias=True, exclude={"routing_key"}, exclude_none=True),
            now=now,
        )
        return IngestResult(0, 0, (key,), (), (refused,))
    document = event.model_dump(mode="json", by_alias=True, exclude={"routing_key"})
    document["dedup_key"] = key
    _trigger(
        session,
        source=SOURCE_EVENTS,
        key=key,
        component_id=component,
        severity=event.payload.severity,
        summary=event.payload.summary,
        receiver=receiver,
        now=now,
        payload=document,
    )
    return IngestResult(1, 0, (key,), (component,))


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    component_id: str | None = None,
    limit: int = 100,
    after: PageCursor | None = None,
) -> list[AlertInfo]:
    """The most recently updated alerts first, optionally of one status or component.

    `after` continues from where a page ended (its last alert): the alerts updated
    before it, in the same order. An alert updated meanwhile moves to the front.
    """
    query = select(AlertRow).order_by(AlertRow.updated_at.desc(), AlertRow.id.desc()).limit(limit)
    if after is not None:
        query = query.where(after_cursor(AlertRow.updated_at, AlertRow.id, after))
    if status is not None:
        query = query.where(AlertRow.status == status)
    if component_id is not None:
        query = query.where(AlertRow.component_id == component_id)
    return [_alert_info(row) for row in session.scalars(query)]


def get_alert(session: Session, alert_id: int) -> AlertInfo:
    """One alert by id, with the payload it last came with; NotFound when there is none."""
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"no alert with id {alert_id}")
    return _alert_info(row)


def _refuse_unreadable(
    session: Session, unreadable: UnreadableAlert, *, group_key: str, receiver: str, now: datetime
) -> RefusedAlertInfo:
    raw = unreadable.raw
    fingerprint = raw.get("fingerprint") if isinstance(raw, dict) else None
    usable = isinstance(fingerprint, str) and 0 < len(fingerprint) <= 255 and fingerprint.isprintable()
    return refuse(
        session,
        source=SOURCE_ALERTMANAGER,
        receiver=receiver,
        dedup_key=fingerprint if usable else None,
        group_key=group_key,
        position=unreadable.position,
        location=unreadable.location,
        label=unreadable.label,
        reason=unreadable.reason,
        raw=raw,
        now=now,
    )


def _trigger(
    session: Session,
    *,
    source: str,
    key: str,
    component_id: str,
    severity: str,
    summary: str,
    receiver: str,
    now: datetime,
    payload: dict[str, Any],
) -> None:
    """Insert the alert as firing, or update its row: one statement, safe under concurrency."""
    values = {
        "source": source,
        "dedup_key": key,
        "component_id": component_id,
        "status": "firing",
        "severity": severity,
        "summary": short_summary(summary),
        "receiver": receiver[:100],
        "first_at": now,
        "updated_at": now,
        "resolved_at": None,
        "received": 1,
        "payload": payload,
    }
    table = AlertRow.__table__

    def changes(excluded: Any) -> dict[str, Any]:
        return {
            "component_id": excluded.component_id,
            # An acknowledged alert that fires again stays acknowledged, as in PagerDuty.
            "status": case((table.c.status == "acknowledged", "acknowledged"), else_="firing"),
            "severity": excluded.severity,
            "summary": excluded.summary,
            "receiver": excluded.receiver,
            "updated_at": excluded.updated_at,
            "resolved_at": None,
            "received": table.c.received + 1,
            "payload": excluded.payload,
        }

    upsert(session, AlertRow, values, keys=("source", "dedup_key"), changes=changes)


def _resolve(
    session: Session, *, source: str, key: str, now: datetime, payload: dict[str, Any] | None
) -> str | None:
    """Mark a known alert resolved; its component id, or None when the key is unknown."""
    values: dict[str, Any] = {
        "status": "resolved",
        "resolved_at": case((AlertRow.status == "resolved", AlertRow.resolved_at), else_=now),
        "updated_at": now,
        "received": AlertRow.received + 1,
    }
    if payload is not None:
        values["payload"] = payload
    return _update(session, source=source, key=key, values=values)


def _acknowledge(session: Session, *, source: str, key: str, now: datetime) -> str | None:
    """Mark a known alert acknowledged (a resolved one stays resolved); its component id, or None."""
    values: dict[str, Any] = {
        "status": case((AlertRow.status == "resolved", "resolved"), else_="acknowledged"),
        "updated_at": now,
        "received": AlertRow.received + 1,
    }
    return _update(session, source=source, key=key, values=values)


def _update(session: Session, *, source: str, key: str, values: dict[str, Any]) -> str | None:
    statement = (
        update(AlertRow)
        .where(AlertRow.source == source, AlertRow.dedup_key == key)
        .values(**values)
        .returning(AlertRow.component_id)
        .execution_options(synchronize_session=False)
    )
    return session.scalars(statement).first()


# -- heartbeats and metrics --------------------------------------------------------------


def record_heartbeat(session: Session, *, component_id: str, plan: Plan, now: datetime) -> HeartbeatInfo:
    """Note a heartbeat: NotFound if the plan lacks the component, Conflict if it has no heartbeat probe."""
    component = plan.components_by_id.get(component_id)
    if component is None:
        shown = component_id if len(component_id) <= 80 else component_id[:80] + "..."
        raise NotFound(f"no component {shown!r} in the plan in force; GET /api/v1/components lists them")
    if not isinstance(component.probe, HeartbeatProbe):
        what = "no probe" if component.probe is None else f"a {component.probe.type} probe"
        raise Conflict(
            f"component {component_id!r} has {what}, not a heartbeat probe: give it"
            " `probe: {type: heartbeat, every_s: 60}` in the plan to post heartbeats for it"
        )
    table = HeartbeatRow.__table__
    upsert(
        session,
        HeartbeatRow,
        {"component_id": component_id, "last_at": now, "received": 1},
        keys=("component_id",),
        changes=lambda excluded: {"last_at": excluded.last_at, "received": table.c.received + 1},
    )
    row = session.execute(
        select(HeartbeatRow.last_at, HeartbeatRow.received).where(HeartbeatRow.component_id == component_id)
    ).one()
    return HeartbeatInfo(component_id, row.last_at, int(row.received))


def record_metrics(
    session: Session, *, samples: Sequence[MetricSample], now: datetime, plan: Plan | None = None
) -> MetricsResult:
    """Store metric samples; Refused (naming each) when a time is over a day ahead or a week past.

    With the plan, the result names the metrics that no metric probe watches.
    """
    problems = []
    for index, sample in enumerate(samples):
        if sample.at is None:
            continue
        where, shown = f"samples.{index}.at", sample.at.isoformat()
        if sample.at > now + MAX_FUTURE:
            problems.append({"location": where, "message": f"{shown} is more than a day ahead"})
        elif sample.at < now - MAX_PAST:
            problems.append({"location": where, "message": f"{shown} is more than 7 days ago"})
    if problems:
        raise Refused(problems)
    rows = [
        {"metric": s.metric, "value": s.value, "at": s.at if s.at is not None else now, "received_at": now}
        for s in samples
    ]
    if rows:
        session.execute(insert(MetricSampleRow), rows)
    names = tuple(dict.fromkeys(s.metric for s in samples))
    watched = set()
    if plan is not None:
        watched = {c.probe.metric for c in plan.components if isinstance(c.probe, MetricProbe)}
    unwatched = tuple(n for n in names if n not in watched) if plan is not None else ()
    return MetricsResult(len(rows), names, unwatched)


# -- helpers -----------------------------------------------------------------------------


def _alert_info(row: AlertRow) -> AlertInfo:
    return AlertInfo(
        id=row.id,
        source=row.source,
        dedup_key=row.dedup_key,
        component_id=row.component_id,
        status=row.status,
        severity=row.severity,
        summary=row.summary,
        receiver=row.receiver,
        first_at=row.first_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        received=row.received,
        payload=dict(row.payload),
    )
