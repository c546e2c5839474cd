"""Recorded times are when things happened, and alerts open their outages at once.

On SQLite and PostgreSQL, with scripted probes: an outage starts at its first failed
check or its alert's own start and ends at its first healthy evidence, however late the
worker could write; a heartbeat probe is never up without a heartbeat, whoever holds it;
an alert has the probes it depends on checked at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from _detect import FAST, ScriptedChecker, eventually, fast_plan_text, running, store_plan
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.detect.history import list_outages
from standby.detect.payloads import AlertmanagerWebhook, EventV2
from standby.detect.receivers import ingest_alertmanager, ingest_events
from standby.detect.states import read_states
from standby.detect.worker import DetectWorker, WorkerOptions
from standby.plan.loading import reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables import AlertRow, CheckResultRow, ProbeRow, StateChangeRow

pytestmark = pytest.mark.anyio

SBC = "127.0.0.1:5061"


def open_outages(factory: sessionmaker[Session], cause: str | None = None):
    with unit_of_work(factory) as session:
        found = list_outages(session, open_only=True)
    return [o for o in found if cause is None or o.causes == (cause,)]


def state(factory: sessionmaker[Session], component_id: str):
    with unit_of_work(factory) as session:
        return read_states(session).get(component_id)


def checks(factory: sessionmaker[Session], component_id: str) -> list[tuple[datetime, bool]]:
    with unit_of_work(factory) as session:
        rows = session.execute(
            select(CheckResultRow.checked_at, CheckResultRow.ok)
            .where(CheckResultRow.component_id == component_id)
            .order_by(CheckResultRow.checked_at)
        ).all()
    return [(at, ok) for at, ok in rows]


def worker(factory: sessionmaker[Session], checker: ScriptedChecker | None = None, **options) -> DetectWorker:
    chosen = WorkerOptions(**{**FAST.__dict__, **options}) if options else FAST
    return DetectWorker(
        session_factory=factory, clock=SystemClock(), checker=checker or ScriptedChecker(), options=chosen
    )


async def test_an_outage_starts_at_its_first_failed_check_and_ends_at_its_first_good_one(
    session_factory, monkeypatch
):
    store_plan(session_factory, fast_plan_text())
    checker = ScriptedChecker()
    detect = worker(session_factory, checker)
    async with running(detect):
        await eventually(lambda: (s := state(session_factory, "sbc")) and s.state == "up")
        checker.failing.add(SBC)
        (outage,) = await eventually(lambda: open_outages(session_factory, "sbc"))
        # The SBC is down after three failures in a row; it went down at the first of them.
        history = checks(session_factory, "sbc")
        last_good = max(i for i, (_, ok) in enumerate(history) if ok)
        first_failure = history[last_good + 1][0]
        assert not history[last_good + 1][1]
        assert outage.started_at == first_failure
        assert state(session_factory, "sbc").since == first_failure

        # The database goes away; the SBC recovers meanwhile, and the worker sees it.
        real = detect._in_thread

        async def unreachable(work):
            detect.database_ok = False
            return False, None

        monkeypatch.setattr(detect, "_in_thread", unreachable)
        checker.failing.discard(SBC)
        await eventually(lambda: detect.held["sbc"].health.state == "up")
        recovered_at = detect.held["sbc"].health.since
        await asyncio.sleep(1.0)  # the database stays away a while after the recovery
        monkeypatch.setattr(detect, "_in_thread", real)
        await eventually(lambda: not open_outages(session_factory, "sbc"))
    with unit_of_work(session_factory) as session:
        (ended,) = [o for o in list_outages(session) if o.id == outage.id]
    history = checks(session_factory, "sbc")
    last_failure = max(i for i, (_, ok) in enumerate(history) if not ok)
    first_good = history[last_failure + 1][0]
    # It ended at the first good check, which the component's own state agrees with, not
    # when the worker could write it a second later.
    assert recovered_at == first_good
    assert ended.ended_at == first_good
    assert state(session_factory, "sbc").since == first_good


def alertmanager(status: str, starts: datetime, ends: datetime | None = None) -> AlertmanagerWebhook:
    alert = {
        "status": status,
        "labels": {"alertname": "ACDDown", "job": "cloudcx-acd", "severity": "critical"},
        "annotations": {"summary": "ACD routing failing"},
        "startsAt": starts.isoformat(),
        "endsAt": (ends or datetime(1, 1, 1, tzinfo=UTC)).isoformat(),
        "fingerprint": "0123456789abcdef",
    }
    return AlertmanagerWebhook.model_validate(
        {"version": "4", "status": status, "receiver": "standby", "alerts": [alert]}
    )


def post(factory: sessionmaker[Session], plan: Plan, payload: AlertmanagerWebhook) -> None:
    with unit_of_work(factory) as session:
        ingest_alertmanager(session, payload=payload, plan=plan, receiver="am", now=datetime.now(UTC))


async def test_an_alert_outage_runs_from_its_startsat_to_its_endsat(session_factory):
    plan = store_plan(session_factory, fast_plan_text())
    async with running(worker(session_factory)):
        await eventually(lambda: (s := state(session_factory, "acd")) and s.state == "up")
        # Alertmanager tells Standby of an alert that began 20 s ago (after a restart, say).
        starts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
        post(session_factory, plan, alertmanager("firing", starts))
        (outage,) = await eventually(lambda: open_outages(session_factory, "acd"))
        assert outage.started_at == starts
        assert state(session_factory, "acd").since == starts
        # It resolved 2 s before the notice came (and well after the probe's last recovery).
        await asyncio.sleep(3.0)
        ends = datetime.now(UTC) - timedelta(seconds=2)
        post(session_factory, plan, alertmanager("resolved", starts, ends))
        await eventually(lambda: not open_outages(session_factory, "acd"))
    with unit_of_work(session_factory) as session:
        (ended,) = [o for o in list_outages(session) if o.id == outage.id]
    assert ended.ended_at == ends
    assert state(session_factory, "acd").since == ends


def event(plan: Plan, factory: sessionmaker[Session], action: str) -> None:
    body = {"routing_key": "r", "event_action": action, "dedup_key": "acd-down"}
    if action == "trigger":
        body["payload"] = {
            "summary": "ACD routing failing",
            "source": "cloudcx-monitor",
            "severity": "critical",
        }
    with unit_of_work(factory) as session:
        ingest_events(
            session, event=EventV2.model_validate(body), plan=plan, receiver="m", now=datetime.now(UTC)
        )


async def test_a_component_is_up_again_from_when_its_alert_cleared(session_factory):
    plan = store_plan(session_factory, fast_plan_text())
    async with running(worker(session_factory)):
        await eventually(lambda: (s := state(session_factory, "acd")) and s.state == "up")
        probe_up_since = state(session_factory, "acd").since
        triggered = datetime.now(UTC)
        event(plan, session_factory, "trigger")
        await eventually(lambda: state(session_factory, "acd").state == "down")
        assert state(session_factory, "acd").since >= triggered
        await asyncio.sleep(0.3)
        cleared = datetime.now(UTC)
        event(plan, session_factory, "resolve")
        await eventually(lambda: state(session_factory, "acd").state == "up")
    with unit_of_work(session_factory) as session:
        resolved_at = session.scalar(select(AlertRow.resolved_at))
    up = state(session_factory, "acd")
    # Not the probe's old `since`: the alert clearing is what made it up.
    assert up.since > probe_up_since
    assert up.since == resolved_at and up.since >= cleared


def slow_plan_text() -> str:
    """The reference plan, its probes checked every 30 s or less often (as a centre would)."""
    return (
        reference_plan_text()
        .replace("interval_s: 10", "interval_s: 30")
        .replace("interval_s: 15", "interval_s: 30")
    )


async def test_an_alert_has_its_upstream_probes_checked_and_opens_its_outage_at_once(session_factory):
    plan = store_plan(session_factory, slow_plan_text())
    # Two workers share the probes, paced as in production: the ones the ACD depends on
    # may be held by either.
    defaults = WorkerOptions()
    options = {
        name: getattr(defaults, name)
        for name in (
            "lease_s",
            "claim_every_s",
            "correlate_every_s",
            "full_correlation_every_s",
            "alerts_every_s",
        )
    }
    first, second = worker(session_factory, **options), worker(session_factory, **options)
    async with running(first), running(second):
        upstream = ("trunk-a", "trunk-b", "sbc")
        await eventually(
            lambda: all((s := state(session_factory, c)) and s.state == "up" for c in (*upstream, "acd"))
        )
        # Once the probes are shared out (a worker gives back what it holds beyond its share).
        await eventually(
            lambda: len(first.held) + len(second.held) == 9 and first.held and second.held, within=30
        )
        with unit_of_work(session_factory) as session:
            holders = set(session.scalars(select(ProbeRow.owner).where(ProbeRow.component_id.in_(upstream))))
        await asyncio.sleep(1.0)  # the upstream probes were last checked before the alert
        event(plan, session_factory, "trigger")
        (outage,) = await eventually(lambda: open_outages(session_factory, "acd"), within=40)
    with unit_of_work(session_factory) as session:
        received = session.scalar(select(AlertRow.first_at))
    assert outage.started_at == received
    # Seen on the database's own record: the upstream probes were checked after the alert
    # came, and the outage was visible within 3 s of it (not at their next check, 30 s on).
    for component_id in upstream:
        assert any(at >= received for at, _ in checks(session_factory, component_id)), component_id
    assert (outage.detected_at - received).total_seconds() <= 3.0, (outage.detected_at, received, holders)


async def test_a_heartbeat_never_posted_stays_down_when_another_worker_takes_it(session_factory):
    text = fast_plan_text().replace(
        "probe: {type: heartbeat, every_s: 60}", "probe: {type: heartbeat, every_s: 0.4}"
    )
    store_plan(session_factory, text)
    async with running(worker(session_factory)):
        # No heartbeat ever: nothing is known during the grace period, then down.
        (outage,) = await eventually(lambda: open_outages(session_factory, "ivr"))
        assert all(not ok for _, ok in checks(session_factory, "ivr"))
    with unit_of_work(session_factory) as session:
        watched_since = session.scalar(select(ProbeRow.watched_since).where(ProbeRow.component_id == "ivr"))
    # Down from the end of the grace period after watching began (1.5 x 0.4 s).
    assert outage.started_at == watched_since + timedelta(seconds=0.6)
    # A clean stop gave the lease back; a new worker takes the probe over at once, well
    # within a grace period. It must not start the grace again and call the silence "up".
    feed_before = _feed_ids(session_factory)
    successor = worker(session_factory)
    async with running(successor):
        await eventually(lambda: len(successor.held) >= 7)
        await asyncio.sleep(1.5)  # several checks of the heartbeat probe, over 2 grace periods
    assert all(not ok for _, ok in checks(session_factory, "ivr"))
    assert [o.id for o in open_outages(session_factory, "ivr")] == [outage.id]
    assert state(session_factory, "ivr").state == "down"
    assert not [s for s in _feed_since(session_factory, feed_before) if s.startswith("ivr:")]


def _feed_ids(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return max(session.scalars(select(StateChangeRow.id)).all(), default=0)


def _feed_since(factory: sessionmaker[Session], after: int) -> list[str]:
    with unit_of_work(factory) as session:
        return list(session.scalars(select(StateChangeRow.summary).where(StateChangeRow.id > after)))
