"""What the worker does with what the centre pushes: heartbeats, metrics, alerts, and maintenance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from _detect import FAST, ScriptedChecker, eventually, fast_plan_text, running, store_plan
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.detect.history import list_outages
from standby.detect.payloads import EventV2, MetricSample
from standby.detect.receivers import ingest_events, record_heartbeat, record_metrics
from standby.detect.runner import maintenance_now
from standby.detect.states import read_states
from standby.detect.worker import DetectWorker
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio


def pushed_plan_text() -> str:
    """The fast reference plan with a heartbeat every 0.3 s and a one-second metric window."""
    text = fast_plan_text().replace(
        "probe: {type: heartbeat, every_s: 60}", "probe: {type: heartbeat, every_s: 0.3}"
    )
    return text.replace("window_s: 300, above: 0.25", "window_s: 1, above: 0.25")


def outages(factory: sessionmaker[Session], *, besides_ivr: bool = True):
    """Open outages; the IVR's own (no test but the heartbeat one posts heartbeats) left out."""
    with unit_of_work(factory) as session:
        found = list_outages(session, open_only=True)
    return [o for o in found if not (besides_ivr and o.causes == ("ivr",))]


def state_of(factory: sessionmaker[Session], component_id: str) -> str | None:
    with unit_of_work(factory) as session:
        live = read_states(session).get(component_id)
    return live.state if live is not None else None


def worker(factory: sessionmaker[Session], **kwargs) -> DetectWorker:
    return DetectWorker(
        session_factory=factory, clock=SystemClock(), checker=ScriptedChecker(), options=FAST, **kwargs
    )


async def test_a_silent_heartbeat_opens_an_outage_and_a_new_one_ends_it(session_factory):
    plan = store_plan(session_factory, pushed_plan_text())

    async def beat(times: int) -> None:
        for _ in range(times):
            with unit_of_work(session_factory) as session:
                record_heartbeat(session, component_id="ivr", plan=plan, now=datetime.now(UTC))
            await asyncio.sleep(0.1)

    async with running(worker(session_factory)):
        await beat(10)
        assert state_of(session_factory, "ivr") == "up"
        # Silence past 1.5 x every_s: down, and its own outage (billing and moving lose the IVR).
        (outage,) = await eventually(lambda: outages(session_factory, besides_ivr=False))
        assert outage.causes == ("ivr",)
        assert outage.queues == ("billing", "moving")
        await beat(3)
        await eventually(lambda: not outages(session_factory, besides_ivr=False))


async def test_a_metric_past_its_bound_is_the_outage_nobody_reported(session_factory):
    plan = store_plan(session_factory, pushed_plan_text())

    def post(value: float) -> None:
        with unit_of_work(session_factory) as session:
            record_metrics(
                session,
                samples=[MetricSample(metric="abandon_rate", value=value)],
                now=datetime.now(UTC),
                plan=plan,
            )

    async with running(worker(session_factory)):
        post(0.05)
        await eventually(lambda: state_of(session_factory, "queue-stats") == "up")
        for _ in range(5):
            post(0.6)
            await asyncio.sleep(0.05)
        (outage,) = await eventually(lambda: outages(session_factory))
        assert outage.causes == ("queue-stats",)
        # The window moves on: without new values the average is no longer above the bound.
        await eventually(lambda: not outages(session_factory), within=15)


def trigger(plan: Plan, factory: sessionmaker[Session], action: str, key: str = "acd-down") -> None:
    event = EventV2.model_validate(
        {
            "routing_key": "unused-here",
            "event_action": action,
            "dedup_key": key,
            "payload": {
                "summary": "ACD routing failing",
                "source": "cloudcx-monitor",
                "severity": "critical",
            },
        }
    )
    with unit_of_work(factory) as session:
        ingest_events(session, event=event, plan=plan, receiver="monitoring", now=datetime.now(UTC))


async def test_a_critical_alert_takes_its_component_down_until_resolved(session_factory):
    plan = store_plan(session_factory, pushed_plan_text())
    async with running(worker(session_factory)):
        trigger(plan, session_factory, "trigger")
        (outage,) = await eventually(lambda: outages(session_factory))
        assert outage.causes == ("acd",)
        assert "ivr" in outage.components
        assert state_of(session_factory, "acd") == "down"
        # Acknowledged is still down: someone is on it, it is not fixed.
        trigger(plan, session_factory, "acknowledge")
        await asyncio.sleep(0.5)
        assert len(outages(session_factory)) == 1
        trigger(plan, session_factory, "resolve")
        await eventually(lambda: not outages(session_factory))


async def test_a_failure_inside_a_maintenance_window_is_recorded_but_marked(session_factory):
    now = datetime.now(UTC)
    starts = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    text = pushed_plan_text().replace(
        "starts: 2026-01-04T02:00          # the organisation's time zone\n    minutes: 120\n"
        '    repeat: "FREQ=MONTHLY;BYDAY=1SU"  # RFC 5545: the first Sunday of each month',
        f'starts: "{starts}"\n    minutes: 60',
    )
    assert starts in text
    store_plan(session_factory, text)
    checker = ScriptedChecker()
    detect = DetectWorker(
        session_factory=session_factory,
        clock=SystemClock(),
        checker=checker,
        options=FAST,
        maintenance=maintenance_now,
    )
    async with running(detect):
        await eventually(lambda: state_of(session_factory, "crm") == "maintenance")
        checker.failing.add("http://127.0.0.1:8182/status")
        (outage,) = await eventually(lambda: outages(session_factory))
        assert outage.causes == ("crm",)
        assert outage.in_maintenance is True
        assert state_of(session_factory, "crm") == "maintenance"
