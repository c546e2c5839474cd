"""One outcome checked, and the CSV the CRM imports: pure, no database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from standby.customers.outcome_records import (
    EXPORT_COLUMNS,
    OutcomeRecord,
    check_outcome,
    derived_client_id,
    export_csv,
    safe_cell,
)

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
QUEUES = ["emergency", "billing", "moving"]


def values(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "client_id": "0f9c2a1e-7d3b-4e55-9a1c-2b6d8e4f0a11",
        "customer": "  Mrs   Jane Doe ",
        "phone": "07700 900123",
        "queue": "billing",
        "reason": "Bill higher than expected\nsince March",
        "outcome": "Explained the estimated reading",
        "follow_up": "yes",
        "logged_at": "2026-06-15T10:12:00+01:00",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def check(row: dict[str, Any], **options: Any) -> Any:
    settings: dict[str, Any] = {"queues": QUEUES, "agent": "ana", "now": NOW, "country": "GB"}
    settings.update(options)
    return check_outcome(7, row, **settings)


def test_a_good_outcome_is_read_and_normalised() -> None:
    entry, problems = check(values())
    assert problems == [] and entry is not None
    assert entry.row == 7 and entry.client_id == "0f9c2a1e-7d3b-4e55-9a1c-2b6d8e4f0a11"
    assert entry.customer == "Mrs Jane Doe" and entry.phone == "+447700900123"
    assert entry.reason == "Bill higher than expected\nsince March"  # free text keeps its lines
    assert entry.follow_up is True and entry.call_id is None
    assert entry.logged_at == datetime(2026, 6, 15, 9, 12, tzinfo=UTC)
    assert entry.agent == "ana" and not entry.agent_given and entry.logged_at_given


def test_defaults_fill_what_a_script_left_out() -> None:
    entry, problems = check(values(client_id=..., phone=..., follow_up=..., logged_at=...))
    assert problems == [] and entry is not None
    assert entry.phone is None and entry.follow_up is False and entry.logged_at == NOW
    assert not entry.logged_at_given
    # No id given: one made from the content, the same for the same content.
    assert entry.client_id == derived_client_id(entry) and entry.client_id.startswith("api-")
    again, _ = check(values(client_id=..., phone=..., follow_up=..., logged_at=...))
    assert again is not None and again.client_id == entry.client_id
    other, _ = check(values(client_id=..., phone=..., follow_up=..., logged_at=..., outcome="Else"))
    assert other is not None and other.client_id != entry.client_id


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"customer": ""}, "customer", "required"),
        ({"customer": "x" * 201}, "customer", "at most 200"),
        ({"phone": "0123"}, "phone", "not a phone number"),
        ({"queue": "billng"}, "queue", "did you mean 'billing'"),
        ({"queue": ...}, "queue", "required"),
        ({"reason": "   "}, "reason", "required"),
        ({"outcome": "y" * 2001}, "outcome", "at most 2000"),
        ({"outcome": 42}, "outcome", "expected text"),
        ({"follow_up": "maybe"}, "follow_up", "expected yes or no"),
        ({"agent": "a" * 101}, "agent", "at most 100"),
        ({"logged_at": "15/06/2026 10:12"}, "logged_at", "ISO 8601"),
        ({"logged_at": "2026-06-15T10:12:00"}, "logged_at", "no UTC offset"),
        ({"logged_at": "2026-06-15T09:36:00Z"}, "logged_at", "6 minutes in the future"),
        ({"client_id": "short"}, "client_id", "8 to 64"),
        ({"client_id": "has spaces in it"}, "client_id", "8 to 64"),
        ({"client_id": 12345678}, "client_id", "8 to 64"),
        ({"call_id": "c" * 101}, "call_id", "at most 100"),
    ],
)
def test_each_bad_value_is_named_by_its_column(changes: dict[str, Any], column: str, words: str) -> None:
    entry, problems = check(values(**changes))
    assert entry is None
    assert [(p.row, p.column) for p in problems] == [(7, column)]
    assert words in problems[0].message


def test_hours_old_is_fine_and_a_few_minutes_ahead_too() -> None:
    old, _ = check(values(logged_at=(NOW - timedelta(hours=9)).isoformat()))
    ahead, _ = check(values(logged_at=(NOW + timedelta(minutes=4)).isoformat()))
    assert old is not None and ahead is not None


def test_the_page_must_give_an_id_and_without_a_country_a_national_number_is_refused() -> None:
    entry, problems = check(values(client_id=...), client_id_required=True)
    assert entry is None and problems[0].column == "client_id"
    entry, problems = check(values(), country=None)
    assert entry is None and problems[0].column == "phone" and "international form" in problems[0].message


def test_every_problem_of_an_item_is_reported_at_once() -> None:
    _, problems = check(values(customer="", queue="x", reason="", outcome="", logged_at="soon"))
    assert [p.column for p in problems] == ["customer", "queue", "reason", "outcome", "logged_at"]


def test_a_resend_matches_and_a_reused_id_does_not() -> None:
    entry, _ = check(values())
    assert entry is not None
    record = OutcomeRecord(
        id=1,
        client_id=entry.client_id,
        customer=entry.customer,
        phone=entry.phone,
        queue=entry.queue,
        reason=entry.reason,
        outcome=entry.outcome,
        follow_up=entry.follow_up,
        agent="ana",
        logged_at=entry.logged_at,
        call_id=None,
        outage_id=None,
        received_at=NOW,
        received_by="user:ana",
        exported_at=None,
    )
    assert record.matches(entry)
    # Sent again by someone else (the agent filled in differs): still the same outcome.
    again, _ = check(values(), agent="sam")
    assert again is not None and record.matches(again)
    changed, _ = check(values(outcome="Refund agreed"))
    assert changed is not None and not record.matches(changed)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+44 call", "'+44 call"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("Plain = text", "Plain = text"),
        ("", ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_defused(value: str, shown: str) -> None:
    assert safe_cell(value) == shown


def test_the_export_has_the_design_header_and_one_line_per_outcome() -> None:
    record = OutcomeRecord(
        id=1,
        client_id="abcdefgh",
        customer='Jane "JD" Doe, Esq.',
        phone="+447700900123",
        queue="billing",
        reason="two\nlines",
        outcome="=2+2",
        follow_up=False,
        agent="ana",
        logged_at=datetime(2026, 6, 15, 10, 12, tzinfo=UTC),
        call_id="call-1",
        outage_id=None,
        received_at=NOW,
        received_by="user:ana",
        exported_at=None,
    )
    text = export_csv([record, record])
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS and len(rows) == 3
    assert rows[1] == [
        'Jane "JD" Doe, Esq.',
        "+447700900123",
        "billing",
        "two\nlines",
        "'=2+2",
        "false",
        "ana",
        "2026-06-15T10:12:00Z",
        "abcdefgh",
        "call-1",
    ]
    assert export_csv([]) == ",".join(EXPORT_COLUMNS) + "\r\n"
