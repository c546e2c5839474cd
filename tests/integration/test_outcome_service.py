"""Outcomes as a service, on SQLite and PostgreSQL: stored once by client id, linked, exported."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.access.service import Principal
from standby.customers.outcome_records import EXPORT_COLUMNS
from standby.customers.outcome_service import (
    LogResult,
    OutcomeFilter,
    export_outcomes,
    list_outcomes,
    log_outcomes,
)
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables import OutageRow, OutcomeRow

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
AGENT = Principal(kind="user", name="ana", role=Role.AGENT)
SCRIPT = Principal(kind="token", name="crm-bridge", role=Role.MANAGER)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Any:
    return lambda: unit_of_work(session_factory)


def entry(client_id: str = "entry-0001", **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "client_id": client_id,
        "customer": "Mrs Jane Doe",
        "phone": "+44 7700 900123",
        "queue": "billing",
        "reason": "Bill higher than expected",
        "outcome": "Explained the estimated reading; asked for a meter photo",
        "follow_up": True,
        "logged_at": "2026-06-15T10:12:00+01:00",
    }
    values.update(changes)
    return values


def log(
    uow: Any, plan: Plan, *items: dict[str, Any], by: Principal = AGENT, now: datetime = NOW
) -> LogResult:
    with uow() as session:
        return log_outcomes(session, plan=plan, rows=list(enumerate(items, start=1)), now=now, by=by)


def count_rows(uow: Any) -> int:
    with uow() as session:
        return int(session.scalar(select(func.count()).select_from(OutcomeRow)) or 0)


def add_outage(
    uow: Any, *, start: datetime, end: datetime | None, queues: list[str], degraded: list[str]
) -> int:
    with uow() as session:
        row = OutageRow(
            started_at=start,
            detected_at=start,
            ended_at=end,
            classification="partial",
            peak_classification="partial",
            causes=["acd"],
            components=["acd"],
            sites=[],
            queues=queues,
            degraded_queues=degraded,
            history={},
            in_maintenance=False,
            summary="test outage",
            merged_into=None,
            plan_version_id=None,
            updated_at=start,
        )
        session.add(row)
        session.flush()
        return row.id


def test_an_outcome_is_stored_once_however_often_it_is_sent(uow: Any, plan: Plan) -> None:
    first = log(uow, plan, entry())
    assert (first.count("stored"), first.count("duplicate"), first.count("refused")) == (1, 0, 0)
    stored = first.items[0].record
    assert stored is not None
    assert stored.phone == "+447700900123" and stored.agent == "ana" and stored.follow_up
    assert stored.logged_at == datetime(2026, 6, 15, 9, 12, tzinfo=UTC)
    assert stored.received_by == "user:ana" and stored.received_at == NOW and stored.outage_id is None
    # The page lost the answer and sends it again, later, then once more in the same request.
    again = log(uow, plan, entry(), entry(), now=NOW + timedelta(minutes=3))
    assert [i.status for i in again.items] == ["duplicate", "duplicate"]
    assert all(i.record == stored for i in again.items)
    assert count_rows(uow) == 1


def test_the_same_id_with_other_content_is_refused_and_changes_nothing(uow: Any, plan: Plan) -> None:
    log(uow, plan, entry())
    result = log(uow, plan, entry(outcome="Something else entirely"), entry("entry-0002"))
    assert [i.status for i in result.items] == ["refused", "stored"]
    (problem,) = result.problems
    assert (problem.row, problem.column) == (1, "client_id")
    assert "already used by another outcome" in problem.message
    with uow() as session:
        outcomes = {r.client_id: r.outcome for r in list_outcomes(session)}
    assert outcomes["entry-0001"].startswith("Explained")
    # Within one request too: the second use of an id with other content is refused.
    mixed = log(uow, plan, entry("entry-0003"), entry("entry-0003", customer="Someone Else"))
    assert [i.status for i in mixed.items] == ["stored", "refused"]
    assert count_rows(uow) == 3


def test_bad_items_are_refused_with_their_columns_and_the_good_ones_stored(uow: Any, plan: Plan) -> None:
    result = log(
        uow,
        plan,
        entry("good-0001"),
        entry("bad-00001", queue="biling", phone="0123", reason=" "),
        entry("bad-00002", logged_at="2026-06-15T10:12:00"),
        entry("bad-00003", logged_at=(NOW + timedelta(minutes=30)).isoformat()),
        entry("no"),
        entry("good-0002", follow_up="no", phone=None, agent="Sam Patel"),
    )
    assert [i.status for i in result.items] == ["stored", *["refused"] * 4, "stored"]
    found = {(p.row, p.column): p.message for p in result.problems}
    assert "unknown queue 'biling'; did you mean 'billing'?" in found[(2, "queue")]
    assert "not a phone number" in found[(2, "phone")]
    assert "required" in found[(2, "reason")]
    assert "no UTC offset" in found[(3, "logged_at")]
    assert "30 minutes in the future" in found[(4, "logged_at")]
    assert "8 to 64 letters" in found[(5, "client_id")]
    last = result.items[5].record
    assert last is not None and last.agent == "Sam Patel" and not last.follow_up and last.phone is None
    assert count_rows(uow) == 2


def test_a_script_may_leave_the_id_out_and_a_resend_is_still_found(uow: Any, plan: Plan) -> None:
    bare = entry()
    del bare["client_id"]
    first = log(uow, plan, bare, by=SCRIPT)
    second = log(uow, plan, bare, by=SCRIPT, now=NOW + timedelta(minutes=1))
    assert first.items[0].status == "stored" and second.items[0].status == "duplicate"
    assert first.items[0].client_id == second.items[0].client_id
    assert (first.items[0].client_id or "").startswith("api-")
    assert first.items[0].record is not None and first.items[0].record.agent == "crm-bridge"
    # A person's page must give one: without it a resend could not be told apart.
    refused = log(uow, plan, bare)
    assert refused.items[0].status == "refused" and refused.problems[0].column == "client_id"
    assert count_rows(uow) == 1


def test_an_outcome_is_linked_to_the_outage_it_was_logged_in(uow: Any, plan: Plan) -> None:
    start = NOW - timedelta(hours=2)
    other = add_outage(uow, start=start, end=None, queues=["emergency"], degraded=[])
    billing = add_outage(uow, start=start + timedelta(minutes=5), end=NOW, queues=[], degraded=["billing"])
    result = log(
        uow,
        plan,
        entry("during-01", logged_at=(NOW - timedelta(minutes=30)).isoformat()),
        entry("during-02", queue="moving", logged_at=(NOW - timedelta(minutes=30)).isoformat()),
        entry("before-01", logged_at=(start - timedelta(minutes=1)).isoformat()),
        entry("after-001", queue="billing", logged_at=(NOW + timedelta(minutes=1)).isoformat()),
    )
    linked = [i.record.outage_id if i.record else "?" for i in result.items]
    # Billing's own outage first; a queue neither hit goes with the latest going on.
    assert linked == [billing, billing, None, other]
    with uow() as session:
        assert [r.client_id for r in list_outcomes(session, OutcomeFilter(outage_id=billing))] == [
            "during-02",
            "during-01",
        ]


def test_lists_filter_and_page(uow: Any, plan: Plan) -> None:
    items = [
        entry(
            f"entry-{n:04d}",
            queue=queue,
            follow_up=n % 2 == 0,
            agent=agent,
            logged_at=(NOW - timedelta(minutes=60 - n)).isoformat(),
        )
        for n, (queue, agent) in enumerate(
            [
                ("billing", "ana"),
                ("moving", "ana"),
                ("billing", "sam"),
                ("emergency", "sam"),
                ("billing", "ana"),
            ]
        )
    ]
    log(uow, plan, *items)
    with uow() as session:

        def ids(which: OutcomeFilter | None = None, **paging: Any) -> list[str]:
            return [r.client_id[-1] for r in list_outcomes(session, which or OutcomeFilter(), **paging)]

        assert ids() == ["4", "3", "2", "1", "0"]
        assert ids(OutcomeFilter(queue="billing")) == ["4", "2", "0"]
        assert ids(OutcomeFilter(follow_up=True)) == ["4", "2", "0"]
        assert ids(OutcomeFilter(follow_up=False, agent="sam")) == ["3"]
        window = OutcomeFilter(since=NOW - timedelta(minutes=59), until=NOW - timedelta(minutes=57))
        assert ids(window) == ["2", "1"]
        page = list_outcomes(session, limit=2)
        assert [r.client_id[-1] for r in page] == ["4", "3"]
        assert ids(limit=2, before=page[-1].id) == ["2", "1"]


def test_the_export_is_the_crm_csv_guarded_and_marks_what_it_exported(uow: Any, plan: Plan) -> None:
    log(
        uow,
        plan,
        entry("entry-0002", logged_at="2026-06-15T10:20:00+01:00", call_id='=HYPERLINK("x")'),
        entry(
            "entry-0001",
            customer="=cmd|' /C calc'!A0",
            reason="+1 call back",
            outcome="-2 days late",
            agent="@ana",
            follow_up=False,
        ),
    )
    later = NOW + timedelta(hours=1)
    with uow() as session:
        text, records = export_outcomes(session, now=later, mark_exported=True)
    assert [r.client_id for r in records] == ["entry-0001", "entry-0002"]  # in the order logged
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[0][:8] == [
        "customer",
        "phone",
        "queue",
        "reason",
        "outcome",
        "follow_up",
        "agent",
        "logged_at",
    ]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["customer"] == "'=cmd|' /C calc'!A0"
    assert (first["reason"], first["outcome"], first["agent"]) == ("'+1 call back", "'-2 days late", "'@ana")
    assert first["phone"] == "+447700900123"  # normalised by Standby: data, left as it is
    assert (first["follow_up"], first["logged_at"], first["call_id"]) == ("false", "2026-06-15T09:12:00Z", "")
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["call_id"] == '\'=HYPERLINK("x")' and second["follow_up"] == "true"
    log(uow, plan, entry("entry-0003"))
    with uow() as session:
        exported = {r.client_id: r.exported_at for r in list_outcomes(session)}
        assert exported == {"entry-0001": later, "entry-0002": later, "entry-0003": None}
        fresh_text, fresh = export_outcomes(
            session, OutcomeFilter(not_exported=True), now=later + timedelta(hours=1), mark_exported=True
        )
    assert [r.client_id for r in fresh] == ["entry-0003"] and fresh_text.count("\r\n") == 2
    with uow() as session:
        # Exporting again without marking changes nothing; a mark keeps the first export's time.
        export_outcomes(session, now=later + timedelta(hours=2))
        export_outcomes(session, now=later + timedelta(hours=3), mark_exported=True)
        times = {r.client_id: r.exported_at for r in list_outcomes(session)}
    assert times == {"entry-0001": later, "entry-0002": later, "entry-0003": later + timedelta(hours=1)}
