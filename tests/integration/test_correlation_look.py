"""A look at the correlation without the lock: it writes nothing, and says when a write is due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from test_response import T0, plan_in_force

from standby.detect.correlation import Correlator
from standby.detect.health import ProbeHealth
from standby.detect.leases import CheckRecord, record_checks, sync_probes
from standby.detect.outage_look import look
from standby.detect.outages import correlate
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables import ComponentStateRow, OutageRow, ProbeRow, StateChangeRow


def record(factory: sessionmaker[Session], plan: Plan, seconds: float, *, down: tuple[str, ...] = ()) -> None:
    """Every probe checked `seconds` after T0: those in `down` failed, the others answered."""
    at = T0 + timedelta(seconds=seconds)
    with unit_of_work(factory) as session:
        sync_probes(session, plan=plan, now=T0)
        shas = dict(session.execute(select(ProbeRow.component_id, ProbeRow.settings_sha)).all())
        records = [
            CheckRecord(c, sha, at, False, "refused", None, None, ProbeHealth("down", 3, 0, at))
            if c in down
            else CheckRecord(c, sha, at, True, "ok", 1.0, None, ProbeHealth("up", 0, 2, T0))
            for c, sha in shas.items()
        ]
        record_checks(session, worker_id="w", records=records)


def looked(factory: sessionmaker[Session], correlator: Correlator, seconds: float):
    """A look's result, after checking that it left nothing to write in its session."""
    with unit_of_work(factory) as session:
        result = look(session, correlator=correlator, maintenance=(), now=T0 + timedelta(seconds=seconds))
        assert not session.new and not session.dirty and not session.deleted
        return result


def on_record(factory: sessionmaker[Session]) -> tuple[int, int, int, str | None]:
    """Outages, state changes in the feed, states, and the SBC's state."""
    with unit_of_work(factory) as session:
        return (
            session.scalar(select(func.count()).select_from(OutageRow)) or 0,
            session.scalar(select(func.count()).select_from(StateChangeRow)) or 0,
            session.scalar(select(func.count()).select_from(ComponentStateRow)) or 0,
            session.scalar(select(ComponentStateRow.state).where(ComponentStateRow.component_id == "sbc")),
        )


def correlated(factory: sessionmaker[Session], correlator: Correlator, seconds: float) -> None:
    with unit_of_work(factory) as session:
        correlate(
            session, correlator=correlator, maintenance=(), now=T0 + timedelta(seconds=seconds), holder="w"
        )


def test_a_look_writes_nothing_and_says_none_exactly_when_correlation_would_write(session_factory):
    plan = plan_in_force(session_factory)
    correlator = Correlator.from_plan(plan)
    record(session_factory, plan, 1)
    # Nothing on record yet: the states are to be written.
    assert looked(session_factory, correlator, 2) is None
    assert on_record(session_factory)[2] == 0
    correlated(session_factory, correlator, 2)
    before = on_record(session_factory)
    assert before[0] == 0 and before[3] == "up"
    # Nothing changed since: the look is the whole pass, and says what is failing (nothing).
    result = looked(session_factory, correlator, 3)
    assert result is not None and not result.failing and not result.opened
    # The SBC failed: a look sees there is something to write, and writes none of it.
    record(session_factory, plan, 4, down=("sbc",))
    assert looked(session_factory, correlator, 5) is None
    assert on_record(session_factory) == before
    correlated(session_factory, correlator, 5)
    outages, *_, sbc = on_record(session_factory)
    assert outages == 1 and sbc == "down"
    # Down and on record: the look is enough again, and sees the SBC failing.
    result = looked(session_factory, correlator, 6)
    assert result is not None and result.failing >= {"sbc"} and not result.opened
    # It recovered: the outage is to end, and a look leaves it open.
    record(session_factory, plan, 7)
    assert looked(session_factory, correlator, 8) is None
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).where(OutageRow.ended_at.is_(None))) == 1
    correlated(session_factory, correlator, 8)
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).where(OutageRow.ended_at.is_(None))) == 0
    assert looked(session_factory, correlator, 9) is not None
