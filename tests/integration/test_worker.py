"""The detection worker against a real database (SQLite and PostgreSQL), with scripted probes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _detect import FAST, ScriptedChecker, eventually, fast_plan_text, running, store_plan
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.detect.history import check_history, list_outages
from standby.detect.states import read_states
from standby.detect.worker import DetectWorker
from standby.store.engine import unit_of_work
from standby.store.tables import CheckResultRow, ProbeRow, StateChangeRow

pytestmark = pytest.mark.anyio

SBC = "127.0.0.1:5061"
TRUNK_A = "sip:ping@127.0.0.1:5070"
TRUNK_B = "sip:ping@127.0.0.1:5071;transport=tcp"


def open_outages(factory: sessionmaker[Session]):
    with unit_of_work(factory) as session:
        return list_outages(session, open_only=True)


def states(factory: sessionmaker[Session]):
    with unit_of_work(factory) as session:
        return read_states(session)


async def test_a_dead_sbc_is_one_outage_that_ends_when_it_recovers(session_factory):
    store_plan(session_factory, fast_plan_text())
    checker = ScriptedChecker()
    worker = DetectWorker(session_factory=session_factory, clock=SystemClock(), checker=checker, options=FAST)
    async with running(worker):
        await eventually(
            lambda: states(session_factory).get("sbc") and states(session_factory)["sbc"].state == "up"
        )
        assert open_outages(session_factory) == []
        checker.failing.add(SBC)
        (outage,) = await eventually(lambda: open_outages(session_factory))
        assert outage.causes == ("sbc",)
        assert set(outage.components) == {"sbc", "acd", "ivr"}
        assert outage.classification == "total"
        assert outage.queues == ("emergency", "billing", "moving")
        assert states(session_factory)["sbc"].state == "down"
        # It stays one outage however long it lasts and however often it is correlated.
        await eventually(lambda: worker.stats.correlations > 5)
        assert len(open_outages(session_factory)) == 1
        checker.failing.discard(SBC)
        await eventually(lambda: not open_outages(session_factory))
    with unit_of_work(session_factory) as session:
        (ended,) = list_outages(session)
        assert ended.ended_at is not None
        # Over within interruption_max_minutes (5): recorded as an interruption.
        assert ended.classification == "interruption"
        assert ended.peak_classification == "total"
        history = check_history(session, "sbc", limit=500)
        assert any(not c.ok for c in history) and history[0].ok
        feed = session.scalars(select(StateChangeRow.summary).order_by(StateChangeRow.id)).all()
        assert any("opened" in s for s in feed) and any("ended" in s for s in feed)
        # A clean stop gives the leases back.
        assert session.scalar(select(func.count()).where(ProbeRow.owner.is_not(None))) == 0


async def test_both_trunks_down_widen_one_outage_then_narrow_it(session_factory):
    store_plan(session_factory, fast_plan_text())
    checker = ScriptedChecker()
    worker = DetectWorker(session_factory=session_factory, clock=SystemClock(), checker=checker, options=FAST)
    async with running(worker):
        checker.failing.add(TRUNK_A)
        (first,) = await eventually(lambda: open_outages(session_factory))
        assert (first.causes, first.classification) == (("trunk-a",), "degraded")
        checker.failing.add(TRUNK_B)
        await eventually(lambda: open_outages(session_factory)[0].causes == ("trunk-a", "trunk-b"))
        (wide,) = open_outages(session_factory)
        assert wide.id == first.id and wide.classification == "total"
        checker.failing.discard(TRUNK_A)
        await eventually(lambda: open_outages(session_factory)[0].causes == ("trunk-b",))
        (narrow,) = open_outages(session_factory)
        assert narrow.id == first.id and narrow.classification == "degraded"
        assert narrow.peak_classification == "total"
        assert set(narrow.ever["components"]) >= {"trunk-a", "trunk-b", "sbc", "acd", "ivr"}


async def test_the_worker_keeps_detecting_while_the_database_is_away(session_factory, monkeypatch):
    store_plan(session_factory, fast_plan_text())
    checker = ScriptedChecker()
    worker = DetectWorker(session_factory=session_factory, clock=SystemClock(), checker=checker, options=FAST)
    async with running(worker):
        await eventually(lambda: len(worker.held) >= 7)
        real = worker._in_thread

        async def unreachable(work):
            worker.database_ok = False
            return False, None

        monkeypatch.setattr(worker, "_in_thread", unreachable)
        checker.failing.add(SBC)
        await eventually(lambda: worker.held["sbc"].health.state == "down")
        outage_seen_at = datetime.now(UTC)
        assert any(r.component_id == "sbc" and r.health.state == "down" for r in worker.buffer)
        monkeypatch.setattr(worker, "_in_thread", real)
        (outage,) = await eventually(lambda: open_outages(session_factory))
        assert outage.causes == ("sbc",)
        # The outage starts when the worker saw the failure, not when it could write it.
        assert outage.started_at <= outage_seen_at
    with unit_of_work(session_factory) as session:
        failed = session.scalar(
            select(func.count()).where(CheckResultRow.component_id == "sbc", CheckResultRow.ok.is_(False))
        )
        assert failed >= 3
