"""Callback rows checked against the plan and the time: every kind of bad row, and the good ones kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from standby.customers.callback_records import (
    LAYOUT,
    MAX_NOTES,
    CallbackInput,
    CheckedCallbacks,
    check_callbacks,
    time_problem,
)
from standby.intake import RowProblem, RowsInvalid, parse_csv, parse_json
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
HEADER = "customer,phone,email,due_at,queue,vulnerable,notes,external_id\n"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


def without_country(plan: Plan) -> Plan:
    return plan.model_copy(update={"organisation": plan.organisation.model_copy(update={"country": None})})


def check_csv(text: str, plan: Plan) -> CheckedCallbacks:
    parsed = parse_csv(text, LAYOUT)
    checked = check_callbacks(parsed.rows, plan=plan, now=NOW)
    checked.problems = sorted([*parsed.problems, *checked.problems])
    return checked


def by_cell(checked: CheckedCallbacks) -> dict[tuple[int, str | None], str]:
    return {(p.row, p.column): p.message for p in checked.problems}


def test_a_good_file_is_read_into_callbacks(plan: Plan) -> None:
    text = (
        HEADER
        + 'Ada Lovelace,07700 900101,ada@example.com,2026-06-15T14:30:00+01:00,billing,yes,"Bill query,'
        ' call after 2",crm-1\n' + "Bo Diddley,+353 85 123 4567,,2026-06-16T09:00Z,emergency,,,\n"
    )
    checked = check_csv(text, plan)
    assert checked.problems == []
    assert checked.valid == [
        CallbackInput(
            row=2,
            customer="Ada Lovelace",
            phone="+447700900101",
            email="ada@example.com",
            due_at=datetime(2026, 6, 15, 13, 30, tzinfo=UTC),
            queue="billing",
            vulnerable=True,
            notes="Bill query, call after 2",
            external_id="crm-1",
        ),
        CallbackInput(
            row=3,
            customer="Bo Diddley",
            phone="+353851234567",
            email=None,
            due_at=datetime(2026, 6, 16, 9, 0, tzinfo=UTC),
            queue="emergency",
            vulnerable=False,
            notes=None,
            external_id=None,
        ),
    ]


def test_every_kind_of_bad_row_is_refused_with_its_row_and_column(plan: Plan) -> None:
    text = (
        HEADER
        + "Ada,07700 900101,,2026-06-15T14:30:00+01:00,billing,,,ok-1\n"  # 2: good
        + "Bo,not a phone,,2026-06-15T14:30:00+01:00,billing,,,\n"  # 3
        + "Cy,0123,,2026-06-15T14:30:00+01:00,billing,,,\n"  # 4
        + "Di,07700 900104,,2026-06-15T08:00:00+01:00,billing,,,\n"  # 5: past
        + "Ed,07700 900105,,2026-06-15T14:30:00,billing,,,\n"  # 6: no offset
        + "Fay,07700 900106,,half past two,billing,,,\n"  # 7
        + "Gil,07700 900107,,2026-06-15T14:30:00+01:00,biling,,,\n"  # 8
        + "Hal,07700 900108,,2026-06-15T14:30:00+01:00,billing,perhaps,,\n"  # 9
        + "Ivy,07700 900109,not-an-email,2026-06-15T14:30:00+01:00,billing,,,\n"  # 10
        + "Jo,07700 900110,,2026-06-15T14:30:00+01:00,billing,,,,extra\n"  # 11
        + ",07700 900111,,2026-06-15T14:30:00+01:00,billing,,,\n"  # 12
        + "Kim,07700 900112,,2027-09-01T10:00:00+01:00,billing,,,\n"  # 13: too far ahead
        + "Lee,07700 900113,,2026-06-15T14:30:00+01:00,,,,\n"  # 14: no queue
        + f"{'M' * 201},07700 900114,,2026-06-15T14:30:00+01:00,billing,,,\n"  # 15
        + f"Ned,07700 900115,,2026-06-15T14:30:00+01:00,billing,,{'n' * (MAX_NOTES + 1)},\n"  # 16
        + f"Oz,07700 900116,,2026-06-15T14:30:00+01:00,billing,,,{'x' * 101}\n"  # 17
        + "Pat,07700 900117,,2026-06-15T14:30:00+01:00,billing,,,ok-1\n"  # 18: duplicate id
        + "Ada again,+44 7700 900101,,2026-06-15T13:30:00Z,billing,,,\n"  # 19: same booking as row 2
        + 'Quin,"07700 900119"x,,2026-06-15T14:30:00+01:00,billing,,,\n'  # 20: broken quote
    )
    checked = check_csv(text, plan)
    problems = by_cell(checked)
    assert [c.row for c in checked.valid] == [2]
    assert problems[(3, "phone")].startswith("not a phone number: 'not a phone'")
    assert problems[(4, "phone")].startswith("not a phone number: '0123' is too short")
    assert problems[(5, "due_at")].startswith(
        "2026-06-15T07:00:00+00:00 is in the past (it is now 2026-06-15T09:30"
    )
    assert problems[(6, "due_at")].startswith("'2026-06-15T14:30:00' has no UTC offset")
    assert problems[(7, "due_at")].startswith("not a time: 'half past two'")
    assert problems[(8, "queue")].startswith(
        "unknown queue 'biling'; did you mean 'billing'?; the plan's queues:"
    )
    assert "emergency, billing, moving" in problems[(8, "queue")]
    assert problems[(9, "vulnerable")] == "expected yes or no (true/false, y/n, 1/0), got 'perhaps'"
    assert "not an email address" in problems[(10, "email")]
    assert problems[(11, None)] == "9 values for 8 columns (a stray comma?)"
    assert problems[(12, "customer")] == "required: it is empty"
    assert problems[(13, "due_at")].endswith("is more than 366 days ahead: is the year right?")
    assert problems[(14, "queue")] == "required: it is empty"
    assert problems[(15, "customer")] == "too long: 201 characters, at most 200"
    assert problems[(16, "notes")] == f"too long: {MAX_NOTES + 1} characters, at most {MAX_NOTES}"
    assert problems[(17, "external_id")] == "too long: 101 characters, at most 100"
    assert problems[(18, "external_id")] == "duplicate of row 2: the same external_id"
    assert problems[(19, None)] == "duplicate of row 2: the same customer, queue and due time"
    assert problems[(20, None)].startswith("not CSV:")
    assert checked.refused_rows == set(range(3, 21))
    assert all(p.row for p in checked.problems)


def test_a_national_number_needs_the_plans_country(plan: Plan) -> None:
    text = HEADER + "Ada,07700 900101,,2026-06-15T14:30:00+01:00,billing,,,\n"
    checked = check_csv(text, without_country(plan))
    assert checked.valid == []
    message = by_cell(checked)[(2, "phone")]
    assert "has no country code" in message and "organisation.country" in message
    international = HEADER + "Ada,+44 7700 900101,,2026-06-15T14:30:00+01:00,billing,,,\n"
    assert [c.phone for c in check_csv(international, without_country(plan)).valid] == ["+447700900101"]


def test_a_due_time_just_behind_the_clock_is_taken(plan: Plan) -> None:
    rows: list[tuple[int, dict[str, Any]]] = [
        (
            1,
            {"customer": "A", "phone": "+447700900101", "due_at": "2026-06-15T09:29:30Z", "queue": "billing"},
        ),
        (
            2,
            {"customer": "B", "phone": "+447700900102", "due_at": "2026-06-15T09:28:00Z", "queue": "billing"},
        ),
    ]
    checked = check_callbacks(rows, plan=plan, now=NOW)
    assert [c.row for c in checked.valid] == [1]
    assert [(p.row, p.column) for p in checked.problems] == [(2, "due_at")]


def test_json_rows_with_the_wrong_types(plan: Plan) -> None:
    parsed = parse_json(
        {
            "callbacks": [
                {
                    "customer": "A",
                    "phone": 447700900101,
                    "due_at": "2026-06-15T14:30:00+01:00",
                    "queue": "billing",
                },
                {"customer": "B", "phone": "+447700900102", "due_at": 1718000000, "queue": "billing"},
                {
                    "customer": "C",
                    "phone": "+447700900103",
                    "due_at": "2026-06-15T14:30:00+01:00",
                    "queue": "billing",
                    "vulnerable": True,
                    "notes": ["x"],
                },
                {
                    "customer": "D",
                    "phone": "+447700900104",
                    "due_at": "2026-06-15T14:30:00+01:00",
                    "queue": "billing",
                    "vulnerable": True,
                    "vip": True,
                },
                {
                    "customer": "E",
                    "phone": "+447700900105",
                    "due_at": "2026-06-15T14:30:00+01:00",
                    "queue": "billing",
                    "vulnerable": True,
                    "external_id": 991,
                },
            ]
        },
        LAYOUT,
    )
    checked = check_callbacks(parsed.rows, plan=plan, now=NOW)
    problems = {(p.row, p.column): p.message for p in [*parsed.problems, *checked.problems]}
    assert problems[(1, "phone")].startswith("write the phone as text, in quotes")
    assert problems[(2, "due_at")].startswith("not a time: 1718000000")
    assert problems[(3, "notes")] == "expected text, got a list"
    assert problems[(4, "vip")] == "unknown field"
    assert [(c.row, c.vulnerable, c.external_id) for c in checked.valid] == [(5, True, "991")]


def test_headers_that_cannot_be_used(plan: Plan) -> None:
    with pytest.raises(RowsInvalid) as caught:
        parse_csv("customer,phone,due at,queue\n", LAYOUT)
    assert {(p.row, p.column) for p in caught.value.problems} == {(1, "due at"), (1, "due_at")}
    assert caught.value.problems[0].message.startswith("unknown column; did you mean 'due_at'?")


def test_a_bom_and_blank_lines_are_no_trouble(plan: Plan) -> None:
    text = "\ufeff" + HEADER + "\n\nAda,07700 900101,,2026-06-15T14:30:00+01:00,billing,n,,\n\n"
    checked = check_csv(text, plan)
    assert [(c.row, c.customer) for c in checked.valid] == [(4, "Ada")]


def test_an_empty_file_and_a_header_alone(plan: Plan) -> None:
    with pytest.raises(RowsInvalid):
        parse_csv("", LAYOUT)
    assert check_csv(HEADER, plan) == CheckedCallbacks()


def test_time_problem() -> None:
    assert time_problem(NOW + timedelta(hours=1), NOW) is None
    assert "no UTC offset" in (time_problem(datetime(2026, 6, 15, 12, 0), NOW) or "")
    assert "in the past" in (time_problem(NOW - timedelta(minutes=2), NOW) or "")
    assert "366 days" in (time_problem(NOW + timedelta(days=367), NOW) or "")


def test_problems_are_in_row_order(plan: Plan) -> None:
    text = HEADER + "".join(f"C{n},bad{n},,2026-06-15T14:30:00+01:00,billing,,,\n" for n in range(12))
    checked = check_csv(text, plan)
    assert [p.row for p in checked.problems] == list(range(2, 14))
    assert all(isinstance(p, RowProblem) and p.column == "phone" for p in checked.problems)
