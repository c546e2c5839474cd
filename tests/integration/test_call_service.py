"""Calls cut off as a service, on SQLite and PostgreSQL: recorded once, linked to their outage, worked."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.customers.call_service import (
    CallFilter,
    count_calls,
    get_call,
    import_calls,
    link_to_outages,
    list_calls,
    work_call,
)
from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables import InterruptedCallRow, OutageRow

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
Uow = Callable[[], AbstractContextManager[Session]]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Uow:
    return lambda: unit_of_work(session_factory)


def outage(uow: Uow, started_at: datetime, queues: list[str]) -> int:
    with uow() as session:
        row = OutageRow(
            started_at=started_at,
            detected_at=started_at,
            ended_at=None,
            classification="partial",
            peak_classification="partial",
            causes=["acd"],
            components=["acd"],
            sites=[],
            queues=queues,
            degraded_queues=[],
            history={"components": ["acd"], "sites": [], "queues": queues},
            summary="ACD down",
            updated_at=started_at,
        )
        session.add(row)
        session.flush()
        return row.id


def call(call_id: str, started: datetime, queue: str = "billing", **more: Any) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "customer": f"Customer {call_id}",
        "phone": f"+4477009{int(call_id[2:]):05d}",
        "queue": queue,
        "agent": "agent-1",
        "started_at": started.isoformat(),
        **more,
    }


def record(uow: Uow, plan: Plan, rows: list[dict[str, Any]], now: datetime = NOW) -> Any:
    with uow() as session:
        return import_calls(
            session, plan=plan, rows=list(enumerate(rows, start=1)), now=now, by="cloudcx", source="api"
        )


def test_a_call_is_linked_to_the_outage_that_cut_it_off_and_says_how_long_into_it(
    uow: Uow, plan: Plan
) -> None:
    outage_id = outage(uow, NOW - timedelta(minutes=20), ["billing", "moving"])
    result = record(
        uow, plan, [call("c-1", NOW - timedelta(minutes=27)), call("c-2", NOW - timedelta(minutes=5))]
    )
    assert result.imported == 2 and not result.refused
    with uow() as session:
        first, second = (get_call(session, i) for i in result.ids)
    assert first.outage_id == outage_id and first.cut_at == NOW - timedelta(minutes=20)
    assert first.seconds_into_call == 7 * 60 and first.state == "open"
    # Begun after the outage started: not cut off by it; cut off when reported, for now.
    assert second.outage_id is None and second.cut_at == NOW


def test_a_call_sent_twice_is_recorded_once_and_the_repeat_refused_by_name(uow: Uow, plan: Plan) -> None:
    first = record(uow, plan, [call("c-1", NOW - timedelta(minutes=3))])
    again = record(
        uow, plan, [call("c-2", NOW - timedelta(minutes=3)), call("c-1", NOW - timedelta(minutes=3))]
    )
    assert again.imported == 1
    (problem,) = again.refused
    assert problem.row == 2 and problem.column == "call_id"
    assert problem.message == f"already recorded as call #{first.ids[0]}"
    with uow() as session:
        assert session.scalar(select(func.count()).select_from(InterruptedCallRow)) == 2


def test_bad_rows_are_refused_and_the_rest_recorded(uow: Uow, plan: Plan) -> None:
    rows = [call("c-1", NOW), {**call("c-2", NOW), "queue": "nope"}, call("c-3", NOW - timedelta(minutes=1))]
    result = record(uow, plan, rows)
    assert result.imported == 2 and [(p.row, p.column) for p in result.refused] == [(2, "queue")]


def test_calls_reported_before_the_outage_is_confirmed_are_linked_by_the_response_pass(
    uow: Uow, plan: Plan
) -> None:
    started = NOW - timedelta(minutes=6)
    result = record(uow, plan, [call("c-1", started), call("c-2", started, queue="emergency")])
    with uow() as session:
        assert link_to_outages(session, now=NOW) == 0
    outage_id = outage(uow, NOW - timedelta(minutes=2), ["billing"])
    with uow() as session:
        assert link_to_outages(session, now=NOW + timedelta(seconds=5)) == 1
        assert link_to_outages(session, now=NOW + timedelta(seconds=10)) == 0
        linked, unlinked = (get_call(session, i) for i in result.ids)
    assert linked.outage_id == outage_id and linked.seconds_into_call == 4 * 60
    assert unlinked.outage_id is None


def test_the_worklist_puts_open_calls_first_vulnerable_first_then_the_earliest_cut_off(
    uow: Uow, plan: Plan
) -> None:
    result = record(
        uow,
        plan,
        [
            call("c-1", NOW - timedelta(minutes=9)),
            call("c-2", NOW - timedelta(minutes=8), vulnerable="yes"),
            call("c-3", NOW - timedelta(minutes=7)),
        ],
    )
    one, two, three = result.ids
    with uow() as session:
        work_call(session, call_id=one, outcome="called_back", notes="sorted the bill", now=NOW, by="amara")
        listed = list_calls(session)
        assert [c.id for c in listed] == [two, three, one]
        assert [c.id for c in list_calls(session, where=CallFilter(state="open"))] == [two, three]
        assert count_calls(session) == {"open": 2, "worked": 1}


def test_an_attempt_keeps_the_call_open_and_a_closing_outcome_is_final(uow: Uow, plan: Plan) -> None:
    (call_id,) = record(uow, plan, [call("c-1", NOW - timedelta(minutes=9))]).ids
    with uow() as session:
        tried = work_call(session, call_id=call_id, outcome="no_answer", notes=None, now=NOW, by="amara")
        assert tried.state == "open" and tried.outcome == "no_answer" and tried.worked_by == "amara"
        done = work_call(
            session, call_id=call_id, outcome="resolved", notes="refund agreed", now=NOW, by="jo"
        )
        assert done.state == "worked" and done.notes == "refund agreed"
        with pytest.raises(Conflict, match="already worked to 'resolved' by jo"):
            work_call(session, call_id=call_id, outcome="called_back", notes=None, now=NOW, by="amara")
        with pytest.raises(InvalidInput, match="unknown outcome"):
            work_call(session, call_id=call_id, outcome="done", notes=None, now=NOW, by="amara")
        with pytest.raises(NotFound):
            work_call(session, call_id=999, outcome="resolved", notes=None, now=NOW, by="amara")
