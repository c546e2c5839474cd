"""On call as a service, on SQLite and PostgreSQL: overrides, who is on call, acknowledging pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.errors import InvalidInput, NotFound
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.respond.ack_links import InvalidLink, make_ack_token
from standby.respond.oncall_service import (
    OverrideRecord,
    acknowledge_by_token,
    acknowledge_page,
    add_override,
    cancel_override,
    get_override,
    list_overrides,
    overrides_in_force,
    page_for_token,
    page_info,
    rotation_now,
    rotation_shifts,
    who_is_on_call,
)
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, PageRow, RotationOverrideRow, TimelineRow

# Monday 15 June 2026, 10:30 in London: Lin's week (from 09:00 BST today to 09:00 next Monday).
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
SECRET = "k" * 48
ROTATION = "platform-oncall"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan_text(reference_plan_text())


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Any:
    return lambda: unit_of_work(session_factory)


def add(uow: Any, plan: Plan, **changes: Any) -> OverrideRecord:
    values: dict[str, Any] = {
        "plan": plan,
        "rotation_id": ROTATION,
        "person_id": "dev",
        "starts_at": NOW + timedelta(days=1),
        "ends_at": NOW + timedelta(days=2),
        "reason": "swap with Lin",
        "created_by": "amara",
        "now": NOW,
    }
    values.update(changes)
    with uow() as session:
        return add_override(session, **values)


def incident(uow: Any, *, state: str = "detected", pages: list[str] | None = None) -> tuple[int, list[int]]:
    with uow() as session:
        row = IncidentRow(
            title="ACD down: billing and moving lost",
            state=state,
            severity=1,
            classification="partial",
            detected_at=NOW - timedelta(minutes=3),
            policy_id="platform",
            escalation_level=0,
            escalation_round=0,
            updated_at=NOW - timedelta(minutes=3),
        )
        session.add(row)
        session.flush()
        page_ids = []
        for level, person in enumerate(pages or ["lin"]):
            page = PageRow(incident_id=row.id, person_id=person, level=level, round=0, sent_at=NOW)
            session.add(page)
            session.flush()
            page_ids.append(page.id)
        return row.id, page_ids


# --- overrides ------------------------------------------------------------------------


def test_an_override_is_listed_and_puts_its_person_on_call(uow: Any, plan: Plan) -> None:
    record = add(uow, plan)
    assert record.status == "upcoming" and record.person_id == "dev" and record.created_by == "amara"
    assert record.starts_at == NOW + timedelta(days=1) and record.reason == "swap with Lin"
    with uow() as session:
        assert [r.id for r in list_overrides(session, rotation_id=ROTATION, now=NOW)] == [record.id]
        (item,) = who_is_on_call(session, plan=plan, now=NOW)
        assert item.rotation_id == ROTATION and item.timezone == "Europe/London"
        assert item.current.person_id == "lin" and item.current.ends == NOW + timedelta(days=1)
        assert item.next is not None and item.next.person_id == "dev" and item.next.override
        during = rotation_now(session, plan=plan, rotation_id=ROTATION, now=NOW + timedelta(days=1, hours=1))
        assert during.current.person_id == "dev" and during.current.override_id == record.id
        assert during.next is not None and during.next.person_id == "lin"
        shifts = rotation_shifts(
            session, plan=plan, rotation_id=ROTATION, start=NOW, end=NOW + timedelta(days=7)
        )
        assert [(s.person_id, s.override) for s in shifts] == [
            ("lin", False),
            ("dev", True),
            ("lin", False),
            ("dev", False),
        ]


def test_times_without_an_offset_are_in_the_plans_zone(uow: Any, plan: Plan) -> None:
    record = add(uow, plan, starts_at=datetime(2026, 6, 20, 18, 0), ends_at=datetime(2026, 6, 21, 8, 0))
    assert record.starts_at == datetime(2026, 6, 20, 17, 0, tzinfo=UTC)  # 18:00 BST
    assert record.ends_at == datetime(2026, 6, 21, 7, 0, tzinfo=UTC)


BAD: list[tuple[dict[str, Any], str]] = [
    ({"person_id": "nobody"}, "person_id: no person 'nobody'"),
    ({"ends_at": NOW + timedelta(days=1)}, "must be after starts_at"),
    ({"ends_at": NOW + timedelta(days=92)}, "more than 90"),
    ({"starts_at": NOW - timedelta(days=2), "ends_at": NOW - timedelta(days=1)}, "has passed"),
    (
        {"starts_at": NOW + timedelta(days=400), "ends_at": NOW + timedelta(days=401)},
        "more than 366 days away",
    ),
    ({"reason": "x" * 1001}, "reason: at most 1000"),
]


@pytest.mark.parametrize(("changes", "words"), BAD)
def test_bad_overrides_are_refused_saying_why(
    uow: Any, plan: Plan, changes: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidInput, match=words):
        add(uow, plan, **changes)
    with uow() as session:
        assert session.scalars(select(RotationOverrideRow)).all() == []


def test_an_unknown_rotation_is_not_found(uow: Any, plan: Plan) -> None:
    with pytest.raises(NotFound, match="no rotation 'nope'"):
        add(uow, plan, rotation_id="nope")


def test_an_override_started_already_covers_from_its_start(uow: Any, plan: Plan) -> None:
    record = add(uow, plan, starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
    assert record.status == "active"
    with uow() as session:
        (item,) = who_is_on_call(session, plan=plan, now=NOW)
    assert item.current.person_id == "dev" and item.current.starts == NOW - timedelta(hours=1)


def test_cancelling_an_override_restores_the_turn_and_is_idempotent(uow: Any, plan: Plan) -> None:
    record = add(uow, plan, starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
    later = NOW + timedelta(minutes=5)
    with uow() as session:
        cancelled = cancel_override(session, rotation_id=ROTATION, override_id=record.id, now=later)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == later
    with uow() as session:
        again = cancel_override(
            session, rotation_id=ROTATION, override_id=record.id, now=later + timedelta(hours=1)
        )
        assert again.cancelled_at == later
        assert (
            get_override(session, rotation_id=ROTATION, override_id=record.id, now=later).status
            == "cancelled"
        )
        assert list_overrides(session, rotation_id=ROTATION, now=later) == []
        assert [
            r.id for r in list_overrides(session, rotation_id=ROTATION, now=later, include_past=True)
        ] == [record.id]
        (item,) = who_is_on_call(session, plan=plan, now=later)
        assert item.current.person_id == "lin"
        with pytest.raises(NotFound):
            cancel_override(session, rotation_id="other", override_id=record.id, now=later)
        with pytest.raises(NotFound):
            get_override(session, rotation_id=ROTATION, override_id=999_999, now=later)
        with pytest.raises(NotFound):
            get_override(session, rotation_id=ROTATION, override_id=2**40, now=later)


def test_overlapping_overrides_the_newest_wins(uow: Any, plan: Plan) -> None:
    add(uow, plan, person_id="amara", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=1))
    add(
        uow,
        plan,
        person_id="sam",
        starts_at=NOW - timedelta(minutes=30),
        ends_at=NOW + timedelta(hours=2),
        now=NOW + timedelta(seconds=1),
    )
    with uow() as session:
        (item,) = who_is_on_call(session, plan=plan, now=NOW)
    assert item.current.person_id == "sam" and item.current.ends == NOW + timedelta(hours=2)
    assert item.next is not None and item.next.person_id == "amara"


def test_an_override_for_someone_no_longer_in_the_plan_is_ignored(uow: Any, plan: Plan) -> None:
    with uow() as session:
        session.add(
            RotationOverrideRow(
                rotation_id=ROTATION,
                person_id="left",
                starts_at=NOW - timedelta(hours=1),
                ends_at=NOW + timedelta(hours=1),
                reason=None,
                created_by="x",
                created_at=NOW,
            )
        )
    with uow() as session:
        assert overrides_in_force(session, plan=plan, around=NOW) == {ROTATION: []}
        (item,) = who_is_on_call(session, plan=plan, now=NOW)
    assert item.current.person_id == "lin"


# --- acknowledging --------------------------------------------------------------------


def timeline(uow: Any, incident_id: int) -> list[TimelineRow]:
    with uow() as session:
        return list(session.scalars(select(TimelineRow).where(TimelineRow.incident_id == incident_id)))


def test_acknowledging_a_page_acknowledges_the_incident_once(uow: Any, plan: Plan) -> None:
    incident_id, (page_id, second_page) = incident(uow, pages=["lin", "amara"])
    at = NOW + timedelta(minutes=2)
    with uow() as session:
        result = acknowledge_page(session, page_id=page_id, by="dana", now=at, plan=plan)
    assert not result.already_acknowledged and result.acknowledged_at == at
    assert result.incident_state == "acknowledged" and result.incident_acknowledged_at == at
    (entry,) = timeline(uow, incident_id)
    assert entry.kind == "ack" and entry.actor == "dana" and entry.at == at
    assert entry.text == "Page to Lin Zhou (level 1, round 1) acknowledged in Standby by dana"
    assert entry.data == {"page_id": page_id, "person_id": "lin", "level": 0, "round": 0, "via": "api"}
    with uow() as session:
        again = acknowledge_page(session, page_id=page_id, by="sam", now=at + timedelta(minutes=1))
    assert again.already_acknowledged and again.acknowledged_at == at
    assert len(timeline(uow, incident_id)) == 1
    with uow() as session:
        other = acknowledge_page(session, page_id=second_page, by="amara", now=at + timedelta(minutes=2))
    assert not other.already_acknowledged and other.incident_acknowledged_at == at
    assert "already been acknowledged" in timeline(uow, incident_id)[-1].text
    with uow() as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None and row.state == "acknowledged" and row.acknowledged_at == at


def test_later_states_are_left_alone(uow: Any, plan: Plan) -> None:
    _, (page_id,) = incident(uow, state="diagnosing")
    with uow() as session:
        result = acknowledge_page(session, page_id=page_id, by="dana", now=NOW)
    assert result.incident_state == "diagnosing" and result.incident_acknowledged_at == NOW
    _, (resolved_page,) = incident(uow, state="resolved")
    with uow() as session:
        result = acknowledge_page(session, page_id=resolved_page, by="dana", now=NOW)
    assert result.incident_state == "resolved" and result.incident_acknowledged_at is None
    assert not result.already_acknowledged


def test_an_unknown_page_is_not_found(uow: Any) -> None:
    with uow() as session, pytest.raises(NotFound, match="no page 12345"):
        acknowledge_page(session, page_id=12345, by="dana", now=NOW)
    with uow() as session, pytest.raises(NotFound):
        acknowledge_page(session, page_id=2**40, by="dana", now=NOW)


def test_a_signed_link_acknowledges_as_the_person_paged(uow: Any, plan: Plan) -> None:
    incident_id, (page_id,) = incident(uow)
    token = make_ack_token(
        SECRET, page_id=page_id, incident_id=incident_id, person_id="lin", expires_at=NOW + timedelta(days=1)
    )
    with uow() as session:
        info = page_for_token(session, secret=SECRET, token=token, now=NOW)
        assert info.incident_title.startswith("ACD down") and info.acknowledged_at is None
        result = acknowledge_by_token(session, secret=SECRET, token=token, now=NOW, plan=plan)
    assert result.person_id == "lin" and not result.already_acknowledged
    (entry,) = timeline(uow, incident_id)
    assert entry.actor == "lin" and entry.data["via"] == "link"
    assert entry.text == "Page to Lin Zhou (level 1, round 1) acknowledged through the link in the message"
    with uow() as session:
        assert acknowledge_by_token(
            session, secret=SECRET, token=token, now=NOW, plan=plan
        ).already_acknowledged
        assert page_info(session, page_id=page_id).acknowledged_at == NOW


def test_a_link_that_names_another_incident_or_person_is_refused(uow: Any) -> None:
    incident_id, (page_id,) = incident(uow)
    wrong = [
        {"page_id": page_id, "incident_id": incident_id + 1, "person_id": "lin"},
        {"page_id": page_id, "incident_id": incident_id, "person_id": "dev"},
        {"page_id": page_id + 100, "incident_id": incident_id, "person_id": "lin"},
    ]
    for claim in wrong:
        token = make_ack_token(SECRET, expires_at=NOW + timedelta(days=1), **claim)  # type: ignore[arg-type]
        with uow() as session, pytest.raises(InvalidLink, match="does not match any page"):
            acknowledge_by_token(session, secret=SECRET, token=token, now=NOW)
    expired = make_ack_token(
        SECRET,
        page_id=page_id,
        incident_id=incident_id,
        person_id="lin",
        expires_at=NOW - timedelta(seconds=1),
    )
    with uow() as session, pytest.raises(InvalidLink, match="expired"):
        acknowledge_by_token(session, secret=SECRET, token=expired, now=NOW)
    assert timeline(uow, incident_id) == []
    with uow() as session:
        assert page_info(session, page_id=page_id).acknowledged_at is None
