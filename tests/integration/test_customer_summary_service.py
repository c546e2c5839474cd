"""The commander's figures on SQLite and PostgreSQL: counted per outage, and put on the
incident's timeline once per change and once more, final, when the outage ends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from _customer_rows import START, add_call, add_callback, add_outage, add_outcome
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from standby.customers.compensation_service import Memo, apply_rules
from standby.customers.summary_service import customer_summary, record_on_timeline
from standby.errors import NotFound
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, OutageRow


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Any:
    return lambda: unit_of_work(session_factory)


def test_the_figures_count_each_customer_once(uow: Any) -> None:
    with uow() as session:
        outage = add_outage(session)
        merged = add_outage(session, ended_at=START, merged_into=outage)
        add_callback(
            session, outage, 1, missed=True, vulnerable=True, state="rescheduled", rescheduled_at=START
        )
        # Rescheduled after recovery means missed: only a callback whose time passed is moved.
        add_callback(
            session,
            outage,
            1,
            due_at=START + timedelta(hours=1),
            state="completed",
            missed=True,
            rescheduled_at=START,
        )
        add_callback(session, outage, 2, state="unplaced", missed=True)
        add_callback(session, outage, 3, state="confirmed", missed=True, rescheduled_at=START)
        add_callback(session, merged, 4, state="cancelled")
        add_callback(session, None, 5)
        add_call(session, outage, 1, vulnerable=True)
        add_call(session, outage, 6, state="worked")
        add_call(session, merged, 7, vulnerable=True)
        add_outcome(session, outage, 6)
        add_outcome(session, merged, 7, follow_up=True)
        add_outcome(session, None, 8)
    with uow() as session:
        apply_rules(session, plan=load_plan_text(reference_plan_text()), now=START + timedelta(hours=4))
    with uow() as session:
        data = customer_summary(session, outage_id=outage).as_dict()
        merged_only = customer_summary(session, outage_id=merged).as_dict()
    assert data["customers"] == {"affected": 6, "vulnerable": 2}
    assert data["callbacks"] == {
        "flagged": 5,
        "missed": 4,
        "rescheduled": 3,
        "unplaced": 1,
        "confirmed": 1,
        "completed": 1,
        "cancelled": 1,
    }
    assert data["calls"] == {"cut_off": 3, "followed_up": 1, "open": 2}
    assert data["outcomes"] == {"logged": 2, "follow_up": 1}
    # rule-1 (10 pounds) for the six, rule-2 (20 pounds) for the three who missed a callback.
    [gbp] = data["compensation"]
    assert gbp["total"] == {"count": 9, "amount_minor": 12000} and gbp["offered"]["count"] == 9
    assert merged_only["customers"] == {"affected": 2, "vulnerable": 1} and merged_only["compensation"] == []
    with uow() as session, pytest.raises(NotFound):
        customer_summary(session, outage_id=999)


def timeline(uow: Any, incident_id: int) -> list[Any]:
    with uow() as session:
        return entries(session, incident_id, kind="customers")


def test_the_timeline_gets_the_figures_when_they_change_and_the_final_ones(uow: Any) -> None:
    with uow() as session:
        outage = add_outage(session, ended_at=None, incident=True)
        quiet = add_outage(session, ended_at=None, incident=True)
        incident_id = session.query(IncidentRow.id).filter(IncidentRow.outage_id == outage).scalar()
        add_callback(session, outage, 1, vulnerable=True)
        add_call(session, outage, 2)
    memo = Memo()
    now = START + timedelta(minutes=10)

    def record(at: Any) -> int:
        with uow() as session:
            return record_on_timeline(session, now=at, memo=memo)

    assert record(now) == 1
    [first] = timeline(uow, incident_id)
    assert first.text == (
        "Customers: 2 customers affected (1 vulnerable); 1 callback; 1 call cut off, 0 followed up"
    )
    assert first.actor == "standby" and first.at == now and first.data["final"] is False
    assert first.data["customers"] == {"affected": 2, "vulnerable": 1}
    assert record(now) == 0
    assert record(now + timedelta(minutes=6)) == 0  # unchanged
    with uow() as session:
        add_callback(session, outage, 3)
    assert record(now + timedelta(minutes=7)) == 0  # counted a minute ago: waits its turn
    assert record(now + timedelta(minutes=11)) == 1
    assert timeline(uow, incident_id)[-1].data["customers"]["affected"] == 3
    # Another worker (no memo) finds the same figures on the timeline and adds nothing.
    with uow() as session:
        assert record_on_timeline(session, now=now + timedelta(minutes=17), memo=Memo()) == 0
    # The outage ends after the last entry: the final figures go at once.
    ended = now + timedelta(minutes=20)
    with uow() as session:
        session.execute(update(OutageRow).where(OutageRow.id == outage).values(ended_at=ended))
    assert record(ended + timedelta(seconds=5)) == 1
    final = timeline(uow, incident_id)[-1]
    assert final.data["final"] is True and final.text.startswith("Customers, final figures: 3 customers")
    assert record(ended + timedelta(seconds=10)) == 0
    assert record(ended + timedelta(days=2)) == 0
    assert len(timeline(uow, incident_id)) == 3
    with uow() as session:
        quiet_incident = session.query(IncidentRow.id).filter(IncidentRow.outage_id == quiet).scalar()
    assert timeline(uow, quiet_incident) == []  # no customer: nothing to say
