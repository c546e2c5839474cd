"""Maintenance windows as a service, on SQLite and PostgreSQL: declare, list, cancel, in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from standby.detect.maintenance import covered_components
from standby.detect.maintenance_service import (
    WindowRecord,
    cancel_window,
    declare_window,
    get_window,
    list_windows,
    past_windows,
    windows_in_force,
)
from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work

# A Monday in June: London is on BST (UTC+1).
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Any:
    return lambda: unit_of_work(session_factory)


def declare(uow: Any, plan: Plan, **changes: Any) -> WindowRecord:
    values: dict[str, Any] = {
        "reason": "ACD firmware upgrade",
        "components": ["acd"],
        "starts_at": NOW + timedelta(hours=1),
        "minutes": 60,
        "created_by": "dana",
        "now": NOW,
        "plan": plan,
    }
    values.update(changes)
    with uow() as session:
        return declare_window(session, **values)


def test_a_declared_window_is_listed_and_in_force_while_it_lasts(uow: Any, plan: Plan) -> None:
    record = declare(uow, plan)
    assert record.key.startswith("api:") and record.status == "upcoming" and not record.active
    assert record.occurrence_start == NOW + timedelta(hours=1)
    assert record.created_by == "dana" and record.timezone == "Europe/London"
    ids = [c.id for c in plan.components]
    with uow() as session:
        listed = list_windows(session, plan=plan, now=NOW)
        assert [r.key for r in listed] == [record.key, "plan:crm-patching"]
        windows = windows_in_force(session, plan=plan)
        assert [w.key for w in windows] == ["plan:crm-patching", record.key]
        assert covered_components(windows, NOW, ids) == frozenset()
        assert covered_components(windows, NOW + timedelta(hours=1, minutes=5), ids) == {"acd"}
        later = NOW + timedelta(hours=1, minutes=5)
        now_active = list_windows(session, plan=plan, now=later)
        assert now_active[0].key == record.key and now_active[0].active
        assert get_window(session, key=record.key, plan=plan, now=later).active
    with uow() as session:
        after = NOW + timedelta(hours=3)
        assert [r.key for r in list_windows(session, plan=plan, now=after)] == ["plan:crm-patching"]
        past = list_windows(session, plan=plan, now=after, include_past=True)
        assert [(r.key, r.status) for r in past] == [("plan:crm-patching", "upcoming"), (record.key, "ended")]
        assert [w.key for w in windows_in_force(session, plan=plan, now=after)] == ["plan:crm-patching"]


def test_naive_times_are_in_the_plans_zone_and_ends_at_sets_the_length(uow: Any, plan: Plan) -> None:
    record = declare(
        uow,
        plan,
        starts_at=datetime(2026, 6, 20, 22, 0),
        minutes=None,
        ends_at=datetime(2026, 6, 21, 1, 30),
        components=[],
        recurrence="FREQ=WEEKLY;BYDAY=SA",
    )
    assert record.starts_at == datetime(2026, 6, 20, 21, 0, tzinfo=UTC)  # 22:00 BST
    assert record.minutes == 210 and record.components == () and record.recurrence == "FREQ=WEEKLY;BYDAY=SA"
    with uow() as session:
        windows = windows_in_force(session, plan=plan)
    # In December the same wall time is 22:00 GMT; an empty component list covers all.
    assert len(covered_components(windows, datetime(2026, 12, 19, 23, tzinfo=UTC), ["acd", "crm"])) == 2


def test_cancelling(uow: Any, plan: Plan) -> None:
    record = declare(uow, plan, starts_at=NOW - timedelta(minutes=10))
    assert record.active
    with uow() as session:
        cancelled = cancel_window(session, key=record.key, now=NOW, by="dana", plan=plan)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == NOW and not cancelled.active
    with uow() as session:
        again = cancel_window(session, key=record.key, now=NOW + timedelta(minutes=5), by="kim", plan=plan)
        assert again.cancelled_at == NOW
        assert [w.key for w in windows_in_force(session, plan=plan)] == ["plan:crm-patching"]
        assert get_window(session, key=record.key, plan=plan, now=NOW).status == "cancelled"
        with pytest.raises(Conflict, match="edit the plan"):
            cancel_window(session, key="plan:crm-patching", now=NOW, by="dana", plan=plan)
        with pytest.raises(NotFound):
            cancel_window(session, key="plan:nope", now=NOW, by="dana", plan=plan)
        with pytest.raises(NotFound):
            cancel_window(session, key="api:999", now=NOW, by="dana", plan=plan)
        with pytest.raises(NotFound, match="plan:ID or api:NUMBER"):
            get_window(session, key="12", plan=plan, now=NOW)


def test_the_plan_window_is_read_from_the_plan(uow: Any, plan: Plan) -> None:
    with uow() as session:
        record = get_window(session, key="plan:crm-patching", plan=plan, now=NOW)
        assert record.source == "plan" and record.components == ("crm",)
        # The first Sunday of July 2026, 02:00 BST.
        assert record.occurrence_start == datetime(2026, 7, 5, 1, tzinfo=UTC)
        assert list_windows(session, plan=None, now=NOW) == []
        assert windows_in_force(session, plan=None) == []


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"components": ["acd", "nope"]}, "components[1]: no component 'nope'"),
    ({"reason": "  "}, "reason"),
    ({"minutes": None, "ends_at": NOW}, "must be after starts_at"),
    ({"minutes": None}, "give ends_at"),
    ({"ends_at": NOW + timedelta(hours=2)}, "not both"),
    ({"minutes": 0}, "positive"),
    ({"minutes": float("nan")}, "positive"),
    ({"minutes": 8 * 24 * 60}, "longer than 7 days"),
    ({"minutes": None, "ends_at": NOW + timedelta(days=9)}, "more than 7 days"),
    ({"starts_at": NOW + timedelta(days=400)}, "more than 366 days away"),
    ({"starts_at": NOW - timedelta(hours=3)}, "has passed"),
    ({"recurrence": "FREQ=SOMETIMES"}, "repeat: FREQ=SOMETIMES"),
    ({"recurrence": "FREQ=DAILY;UNTIL=20260614", "starts_at": NOW - timedelta(days=3)}, "from now on"),
    ({"recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "never occurs"),
    ({"recurrence": "FREQ=DAILY", "minutes": 25 * 60}, "overlap"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"recurrence": "FREQ=WEEKLY", "starts_at": datetime(2026, 3, 29, 1, 30)}, "does not exist"),
]


def test_bad_input_is_refused_with_what_and_where(uow: Any, plan: Plan) -> None:
    # One database for all the cases: setting one up costs more than the cases.
    for changes, words in BAD_INPUT:
        with pytest.raises(InvalidInput) as caught:
            declare(uow, plan, **changes)
        assert words in str(caught.value), (changes, str(caught.value))
    with uow() as session:
        assert list_windows(session, plan=None, now=NOW, include_past=True) == []


def test_past_windows_are_paged_past_the_running_recurring_ones(uow: Any, plan: Plan) -> None:
    weekly = [declare(uow, plan, reason=f"Weekly {n}", recurrence="FREQ=WEEKLY").key for n in range(7)]
    one_offs = [
        declare(uow, plan, reason=f"Once {n}", starts_at=NOW + timedelta(hours=n)).key for n in range(5)
    ]
    cancelled = declare(uow, plan, reason="Called off", recurrence="FREQ=DAILY")
    with uow() as session:
        cancel_window(session, key=cancelled.key, now=NOW, by="dana", plan=plan)
    later = NOW + timedelta(days=1)  # the one-offs have ended; the weekly ones still recur
    pages: list[list[str]] = []
    before = None
    with uow() as session:
        while True:
            found, before = past_windows(session, plan=plan, now=later, before_id=before, limit=2)
            pages.append([r.key for r in found])
            if before is None:
                break
    assert pages == [[cancelled.key, one_offs[4]], one_offs[3:1:-1], one_offs[1::-1]]
    assert not set(weekly) & {k for page in pages for k in page}
    with uow() as session:
        (record,), _ = past_windows(session, plan=plan, now=later, limit=1)
    assert record.status == "cancelled" and record.cancelled_by == "dana"
