"""Calls cut off, as the telephony platform reports them: each row checked, and the outage that cut it off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from standby.customers.call_records import (
    LAYOUT,
    MAX_CALL,
    OutageSpan,
    check_calls,
    closes,
    cutting_outage,
)
from standby.intake import parse_csv
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
GOOD = {
    "call_id": "c-1",
    "customer": "Ada Lovelace",
    "phone": "+44 7700 900123",
    "queue": "billing",
    "agent": "agent-17",
    "started_at": "2026-06-15T10:21:00+01:00",
}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


def problems(plan: Plan, **changes: Any) -> list[tuple[str | None, str]]:
    row = {**GOOD, **changes}
    checked = check_calls([(2, row)], plan=plan, now=NOW)
    return [(p.column, p.message) for p in checked.problems]


def test_a_good_row_becomes_a_call_with_its_phone_in_international_form(plan: Plan) -> None:
    checked = check_calls([(2, GOOD)], plan=plan, now=NOW)
    assert not checked.problems
    (call,) = checked.valid
    assert call.phone == "+447700900123" and call.queue == "billing" and call.agent == "agent-17"
    assert call.started_at == datetime(2026, 6, 15, 9, 21, tzinfo=UTC) and call.vulnerable is False


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"call_id": ""}, "call_id", "required"),
        ({"customer": "  "}, "customer", "required"),
        ({"phone": "0123"}, "phone", "area code"),
        ({"phone": "+999 7700 900123"}, "phone", "no such country code"),
        ({"phone": "+44 12"}, "phone", "too short"),
        ({"phone": "call me"}, "phone", "expected digits"),
        ({"queue": "biling"}, "queue", "did you mean 'billing'"),
        ({"started_at": "10:21"}, "started_at", "not a time"),
        ({"started_at": "2026-06-15T10:21:00"}, "started_at", "no UTC offset"),
        ({"started_at": "2026-06-15T11:21:00+01:00"}, "started_at", "in the future"),
        ({"started_at": "2026-05-01T10:21:00+01:00"}, "started_at", "days ago"),
        ({"vulnerable": "perhaps"}, "vulnerable", "expected yes or no"),
        ({"agent": "x" * 101}, "agent", "too long"),
    ],
)
def test_each_bad_cell_is_refused_with_its_column_and_reason(
    plan: Plan, changes: dict[str, str], column: str, words: str
) -> None:
    found = problems(plan, **changes)
    assert len(found) == 1, found
    assert found[0][0] == column and words in found[0][1]


def test_a_call_id_twice_in_one_import_is_refused_at_its_second_row(plan: Plan) -> None:
    checked = check_calls([(2, GOOD), (3, {**GOOD, "customer": "Someone else"})], plan=plan, now=NOW)
    assert [c.row for c in checked.valid] == [2]
    (problem,) = checked.problems
    assert problem.row == 3 and problem.column == "call_id" and "duplicate of row 2" in problem.message


def test_csv_rows_keep_their_line_numbers_and_bad_ones_do_not_hold_back_good_ones(plan: Plan) -> None:
    text = (
        "call_id,customer,phone,queue,agent,started_at,vulnerable\n"
        "c-1,Ada,+447700900123,billing,a1,2026-06-15T09:00:00Z,yes\n"
        "c-2,Bob,not a phone,billing,a2,2026-06-15T09:00:00Z,\n"
        "c-3,Cy,+447700900125,moving,,2026-06-15T09:10:00Z,no\n"
    )
    parsed = parse_csv(text, LAYOUT)
    checked = check_calls(parsed.rows, plan=plan, now=NOW)
    assert [c.call_id for c in checked.valid] == ["c-1", "c-3"]
    assert checked.valid[0].vulnerable is True and checked.valid[1].agent is None
    assert [(p.row, p.column) for p in checked.problems] == [(3, "phone")]


def test_the_cutting_outage_started_during_the_call_on_its_queue() -> None:
    start = NOW - timedelta(minutes=10)
    before = OutageSpan(1, start - timedelta(minutes=1), frozenset({"billing"}))
    other_queue = OutageSpan(2, start + timedelta(minutes=2), frozenset({"moving"}))
    first = OutageSpan(3, start + timedelta(minutes=5), frozenset({"billing", "moving"}))
    later = OutageSpan(4, start + timedelta(minutes=8), frozenset({"billing"}))
    too_late = OutageSpan(5, start + MAX_CALL + timedelta(seconds=1), frozenset({"billing"}))
    assert cutting_outage(start, "billing", [later, too_late, before, other_queue, first]) == first
    assert cutting_outage(start, "emergency", [first, later]) is None
    assert cutting_outage(start, "billing", [before, too_late]) is None


def test_only_a_closing_outcome_takes_a_call_off_the_worklist() -> None:
    assert closes("called_back") and closes("resolved") and closes("not_needed")
    assert not closes("no_answer") and not closes("left_message")
    with pytest.raises(ValueError, match="unknown outcome 'sorted'"):
        closes("sorted")
