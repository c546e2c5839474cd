"""The live forecast's database work: the live state read, the latest forecast kept, the estimate.

The forecaster process (`forecast.runner`) reads an incident's live state (`gather`), makes
the forecast outside any transaction (`forecast.outlook`), and keeps it (`keep`). Keeping a
forecast whose recommendation changed (the first one included) adds a timeline entry of kind
`forecast`, so the review can hold forecast against outcome. The API and the room only read
(`latest`). Nothing here commits: callers use `standby.store.engine.unit_of_work`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.detect.states import read_states
from standby.errors import Conflict, InvalidInput, NotFound
from standby.forecast.live import LiveState
from standby.forecast.live_figures import queue_of_metric
from standby.forecast.records import Forecast
from standby.impact.results import ScheduledCallback
from standby.impact.scenario import forecast_day
from standby.plan.schema import Plan
from standby.readiness.service import ready_by_team
from standby.respond.incidents import OPEN_STATES
from standby.respond.timeline import SYSTEM, add_entry
from standby.store.tables import (
    CallbackRow,
    ForecastRow,
    IncidentRow,
    MetricSampleRow,
    OutageRow,
    StrategyRunRow,
)

BOOKED = ("scheduled", "flagged", "rescheduled", "confirmed")
"""The states of a callback still to be made at a known time."""
FRESH_FOR = timedelta(minutes=5)
"""A forecast older than this is made again even when nothing changed: the day moves on."""
MAX_ESTIMATE_MINUTES = 24 * 60


@dataclass(frozen=True)
class Gathered:
    """An incident's live state for a forecast, or why none can be made; and its fingerprint."""

    incident_id: int
    state: LiveState | None
    unavailable: str | None
    mark: str


@dataclass(frozen=True)
class Latest:
    """The latest forecast kept for an incident (None before the first), and the commander's estimate."""

    incident_id: int
    data: dict[str, Any] | None
    estimate_minutes: int | None
    estimate_at: datetime | None


def _incident(session: Session, incident_id: int) -> IncidentRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def _minute(plan: Plan, at: datetime, today: datetime) -> int:
    """Minutes since midnight in the plan's time zone; 0 for a time on an earlier day than `today`."""
    zone = ZoneInfo(plan.organisation.timezone)
    local, now = at.astimezone(zone), today.astimezone(zone)
    return 0 if local.date() < now.date() else local.hour * 60 + local.minute


def _live_figures(
    session: Session, plan: Plan, since: datetime, now: datetime
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    """The centre's latest calls waiting and agents available per queue (posted since the outage began,
    within the last five minutes), as `forecast.live_figures` names them."""
    rows = session.execute(
        select(MetricSampleRow.metric, MetricSampleRow.value)
        .where(
            MetricSampleRow.metric.like("queue.%"),
            MetricSampleRow.at >= max(since, now - FRESH_FOR),
            MetricSampleRow.at <= now,
        )
        .order_by(MetricSampleRow.at, MetricSampleRow.id)
    )
    found: dict[tuple[str, str], int] = {}
    for metric, value in rows:
        named = queue_of_metric(metric)
        if named is not None and named[0] in plan.queues_by_id:
            found[named] = max(0, round(value))  # the latest wins
    waiting = tuple(sorted((q, n) for (q, figure), n in found.items() if figure == "calls_waiting"))
    available = tuple(sorted((q, n) for (q, figure), n in found.items() if figure == "agents_available"))
    return waiting, available


def _callbacks_booked(
    session: Session, plan: Plan, since: datetime, now: datetime
) -> tuple[ScheduledCallback, ...]:
    """The callbacks still to make today, due from the outage's start to the forecast day's end."""
    day = forecast_day(plan)
    if day is None:
        return ()
    zone = ZoneInfo(plan.organisation.timezone)
    rows = session.scalars(
        select(CallbackRow)
        .where(
            CallbackRow.state.in_(BOOKED),
            CallbackRow.due_at >= since,
            CallbackRow.due_at <= now + timedelta(days=1),
        )
        .order_by(CallbackRow.due_at, CallbackRow.id)
    )
    found = []
    for row in rows:
        due = row.due_at.astimezone(zone)
        minute = due.hour * 60 + due.minute
        if (
            due.date() == now.astimezone(zone).date()
            and day[0] <= minute < day[1]
            and row.queue in plan.queues_by_id
        ):
            found.append(ScheduledCallback(minute, row.queue, row.vulnerable))
    return tuple(found)


def gather(session: Session, *, incident_id: int, plan: Plan, plan_sha256: str, now: datetime) -> Gathered:
    """The incident's live state as of `now`: what is down since when, strategies running, the estimate."""
    incident = _incident(session, incident_id)
    row = session.get(ForecastRow, incident_id)
    estimate = row.estimate_minutes if row is not None else None
    outage = session.get(OutageRow, incident.outage_id) if incident.outage_id is not None else None
    known = plan.components_by_id
    causes = [c for c in (outage.causes if outage is not None else []) if c in known]
    # Whatever else is down now (another outage's cause) weighs on the options too: a relocation
    # to home working needs the VPN. It is taken as down from this outage's start.
    states = read_states(session)
    also = [
        c.id
        for c in plan.components
        if c.id not in causes and c.id in states and states[c.id].state == "down"
    ]
    down = tuple(causes + also) if causes else ()
    runs = session.scalars(
        select(StrategyRunRow).where(
            StrategyRunRow.incident_id == incident_id, StrategyRunRow.state.in_(("running", "done"))
        )
    )
    running = {r.strategy_id: _minute(plan, r.decided_at or r.proposed_at, now) for r in runs}
    unavailable = None
    if incident.state not in OPEN_STATES:
        unavailable = f"the incident is {incident.state}: there is nothing left to forecast"
    elif outage is None:
        unavailable = "the incident names no outage: there is nothing down to forecast from"
    elif outage.ended_at is not None:
        unavailable = "the outage has ended: there is nothing left to forecast"
    elif not down:
        unavailable = "none of what the outage took down is in the plan in force"
    since = _minute(plan, outage.started_at, now) if outage is not None else 0
    # Who can work from home is who passed the home check lately, where teams took it.
    ready = tuple(sorted(ready_by_team(session, plan=plan, now=now).items()))
    state = None
    waiting: tuple[tuple[str, int], ...] = ()
    available: tuple[tuple[str, int], ...] = ()
    callbacks: tuple[ScheduledCallback, ...] = ()
    if unavailable is None and outage is not None:
        waiting, available = _live_figures(session, plan, outage.started_at, now)
        callbacks = _callbacks_booked(session, plan, outage.started_at, now)
        state = LiveState(
            down,
            since,
            _minute(plan, now, now),
            running,
            estimate,
            home_ready=ready,
            callbacks=callbacks,
            waiting=waiting,
            available=available,
        )
    facts = {
        "down": down,
        "since": since,
        "running": sorted(running.items()),
        "estimate": estimate,
        "home_ready": ready,
        "waiting": waiting,
        "available": available,
        "callbacks": [(c.due, c.queue, c.vulnerable) for c in callbacks],
        "plan": plan_sha256,
        "unavailable": unavailable,
    }
    mark = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
    return Gathered(incident_id, state, unavailable, mark)


def open_incidents(session: Session) -> list[int]:
    """The open incidents, oldest first."""
    return list(
        session.scalars(
            select(IncidentRow.id).where(IncidentRow.state.in_(OPEN_STATES)).order_by(IncidentRow.id)
        )
    )


def is_due(session: Session, gathered: Gathered, now: datetime) -> bool:
    """Whether the incident needs a new forecast: none yet, the state moved, or the last is stale."""
    row = session.get(ForecastRow, gathered.incident_id)
    if row is None or row.as_of is None or row.mark != gathered.mark:
        return True
    return gathered.unavailable is None and now - row.as_of >= FRESH_FOR


def _row(session: Session, incident_id: int, now: datetime) -> ForecastRow:
    row = session.get(ForecastRow, incident_id)
    if row is None:
        row = ForecastRow(incident_id=incident_id, updated_at=now)
        session.add(row)
    return row


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    """The timeline's small copy: per option and length, the headline figures only."""
    keep = ("customers_affected", "vulnerable_affected", "callbacks_missed", "cost")
    return {
        "as_of": data["as_of"],
        "recommended": data["recommended"],
        "reason": data["reason"],
        "options": [
            {
                "id": o["id"],
                "lasting": {
                    n: {
                        **{k: v[k]["mean"] for k in keep},
                        "breaches": v["breaches"],
                        "first_breach_at": v["first_breach_at"],
                    }
                    for n, v in o["lasting"].items()
                },
            }
            for o in data["options"]
        ],
    }


def keep(session: Session, *, gathered: Gathered, forecast: Forecast | None, now: datetime) -> dict[str, Any]:
    """Keep the forecast as of `now` (or why there is none); on the timeline if the advice changed."""
    incident = _incident(session, gathered.incident_id)
    if forecast is not None:
        data: dict[str, Any] = {"as_of": now.isoformat(), **forecast.to_dict()}
    else:
        data = {
            "as_of": now.isoformat(),
            "options": [],
            "recommended": None,
            "reason": gathered.unavailable or "no forecast can be made",
            "unavailable": True,
        }
    row = _row(session, incident.id, now)
    changed = data["recommended"] is not None and data["recommended"] != row.recommended
    row.mark, row.as_of, row.recommended, row.data, row.updated_at = (
        gathered.mark,
        now,
        data["recommended"],
        data,
        now,
    )
    if changed:
        add_entry(
            session,
            incident_id=incident.id,
            at=now,
            kind="forecast",
            actor=SYSTEM,
            text=f"Forecast: {data['reason']}",
            data=_summary(data),
        )
    return data


def latest(session: Session, *, incident_id: int) -> Latest:
    """The incident's latest forecast and estimate (NotFound for an unknown incident)."""
    _incident(session, incident_id)
    row = session.get(ForecastRow, incident_id)
    if row is None:
        return Latest(incident_id, None, None, None)
    return Latest(incident_id, row.data, row.estimate_minutes, row.estimate_at)


def set_estimate(session: Session, *, incident_id: int, minutes: int, by: str, now: datetime) -> Latest:
    """Record the commander's estimate of the minutes the outage still lasts (the next forecast weighs it)."""
    incident = _incident(session, incident_id)
    if incident.state not in OPEN_STATES:
        raise Conflict(f"incident {incident_id} is {incident.state}: an estimate is for an open incident")
    if not 1 <= minutes <= MAX_ESTIMATE_MINUTES:
        raise InvalidInput(
            f"minutes: the outage's remaining minutes, 1 to {MAX_ESTIMATE_MINUTES}; got {minutes}"
        )
    row = _row(session, incident_id, now)
    row.estimate_minutes, row.estimate_at, row.estimate_by, row.updated_at = minutes, now, by[:100], now
    add_entry(
        session,
        incident_id=incident_id,
        at=now,
        kind="note",
        actor=by,
        text=f"Estimate: the outage lasts about {minutes} more minutes",
        data={"estimate_minutes": minutes},
    )
    return latest(session, incident_id=incident_id)
